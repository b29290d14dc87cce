-- What deal.upsert last sent of an order to a Bitrix24 portal (issue 16):
-- a fingerprint of the deal's fields, product rows and client. An update
-- whose fingerprint is the one stored is not sent again, and a portal
-- change applied to the order (bitrix24.event.apply) stores the
-- fingerprint of the order it leaves, so the change it makes in Obmen does
-- not go back to the portal as another crm.deal.update (echo
-- suppression). Kept apart from the order so that storing it is no change
-- of the order (no change event, no bundle run).
CREATE TABLE bitrix24_sent (
    system TEXT NOT NULL,
    sales_order_id BIGINT NOT NULL,
    fingerprint TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (system, sales_order_id)
);
