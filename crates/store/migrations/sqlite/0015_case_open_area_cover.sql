-- A town's open cases, as the county reads them, are chosen from this index alone: it holds the
-- owner test's columns and the state, so that only the rows of the page are read from the table.
DROP INDEX cases_open_area;
CREATE INDEX cases_open_area ON cases (area_path, due_at, id, owner_path, is_private, state)
    WHERE state NOT IN ('void', 'closed');
