-- Event handlers bound through event.bind (issue 25, finding 5) belong to
-- the user of the incoming webhook that bound them: they are told only of
-- changes that user may see, and nothing while that user is disabled.
-- owner_user_id is that user; 0 for the webhooks administrators make,
-- which see every change.
ALTER TABLE outbound_webhooks ADD COLUMN owner_user_id BIGINT NOT NULL DEFAULT 0;

UPDATE outbound_webhooks SET owner_user_id = COALESCE(
    (SELECT h.user_id FROM bitrix_webhooks h WHERE 'bitrix-webhook:' || h.id = outbound_webhooks.integration), 0)
WHERE bound_auth_type IS NOT NULL;
