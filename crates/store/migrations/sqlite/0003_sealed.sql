-- ID numbers and phones of residents are kept sealed (ChaCha20-Poly1305 under the data key),
-- never in clear; the keyed hashes serve exact search and the last 4 digits masked display.
-- Keep in step with ../postgres/0003_sealed.sql: the schema-parity test compares them.
-- No release has stored residents before this migration, so the clear columns go without
-- being sealed first.

ALTER TABLE residents DROP COLUMN id_number;
ALTER TABLE residents DROP COLUMN phone;
ALTER TABLE residents ADD COLUMN id_number_sealed TEXT;
ALTER TABLE residents ADD COLUMN phone_sealed TEXT;
