-- Handlers bound through the Bitrix24-compatible event.bind are outbound
-- webhooks with the auth_type they were bound with; NULL for the webhooks
-- admins make.
ALTER TABLE outbound_webhooks ADD COLUMN bound_auth_type BIGINT;

CREATE INDEX outbound_webhooks_bindings ON outbound_webhooks (integration, bound_auth_type);
