-- The duplicate hints are the ten newest alike open cases: with the id after the date, the
-- index gives them in that order and the read stops at the tenth, where it read every alike
-- open case of the week and sorted them, once per intake.
DROP INDEX cases_open_grid_category;
CREATE INDEX cases_open_grid_category ON cases (grid_id, category_code, created_at, id)
    WHERE state NOT IN ('void', 'closed');
