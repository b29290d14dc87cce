-- Payment methods (Bitrix24's "Способы оплаты", issue 14): a dictionary
-- an admin keeps. client_type is company or contact: invoice.from_deal
-- takes the method for companies when the deal has a company, else the
-- one for contacts. print_form names the printed form (only "invoice",
-- счёт на оплату, exists now); url_template, when set, is the invoice's
-- payment link with {number}, {amount}, {amount_kopecks}, {currency},
-- {id}, {date} and {public_url} filled in (crm.PaymentMethod.FillURL).
CREATE TABLE payment_methods (
    id {{id}},
    name TEXT NOT NULL,
    client_type TEXT NOT NULL,
    print_form TEXT NOT NULL DEFAULT 'invoice',
    url_template TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    sort INTEGER NOT NULL DEFAULT 100,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- An invoice's payment method (0: none) and its public page: public_token
-- is the random part of the page's link (/i/<token>): 32 bytes from
-- crypto/rand, base64url, so unguessable; '' when the invoice has no
-- page. It is kept as is (not hashed) so that the link can be shown again
-- on the invoice's card and given again to a retried step: whoever reads
-- this table reads the invoices themselves anyway.
ALTER TABLE invoices ADD COLUMN payment_method_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN public_token TEXT NOT NULL DEFAULT '';
CREATE INDEX invoices_public_token ON invoices (public_token);

-- The seller of printed invoices when a step names none: the account
-- ("our company") whose first requisite and its first bank account print
-- as the seller's.
INSERT INTO settings (key, value) VALUES ('invoice.seller_account_id', '0');
