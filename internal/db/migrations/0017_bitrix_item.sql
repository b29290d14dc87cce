-- The Bitrix24 user type of a custom field made by crm.*.userfield.add
-- (integer, double, money, url, address, file, datetime …), answered back
-- by crm.*.userfield.get and *.fields; '' for fields made in Obmen, whose
-- type says it all.
ALTER TABLE custom_fields ADD COLUMN user_type TEXT NOT NULL DEFAULT '';
