-- Intake looks for open cases of the same category in the same grid from the last days, to
-- suggest duplicates. Through the category's index alone it read every recent case of the
-- category in the county (all of them, in a busy week of one category), once per intake.
CREATE INDEX cases_open_grid_category ON cases (grid_id, category_code, created_at) WHERE state NOT IN ('void', 'closed');
