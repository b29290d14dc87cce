-- Issue 18. The pictures a site has from Obmen's catalog exports: the
-- file's name on the site (import_files/…) and the sha256 of the bytes
-- sent, written when a catalog run succeeds. "Only changed" sends a
-- product's picture the site does not have by that name and those bytes
-- — also the older pictures of a product newly in an exported catalog,
-- which the run's time alone would skip.
CREATE TABLE site_pictures (
    site_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (site_id, name)
);

-- A variant's pictures (<Картинка> of an offer with a "<good>#<…>" id,
-- as УТ 11 writes the characteristics' pictures): the staged offer keeps
-- the names (a JSON array, '' for none) for the switch.
ALTER TABLE cml_stage_offers ADD COLUMN pictures TEXT NOT NULL DEFAULT '';
