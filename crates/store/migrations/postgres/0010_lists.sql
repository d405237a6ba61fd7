-- Lists and exports that stay fast as a county grows.
--
-- After a few years nearly every case is closed: the owner's queue and the open-case lists read
-- only the open ones, through indexes that hold nothing else. The condition is written exactly
-- as the lists write it, so that the planner sees that they apply.
CREATE INDEX cases_open_owner ON cases (owner_post_id, due_at, id) WHERE state NOT IN ('void', 'closed');
CREATE INDEX cases_open_area ON cases (area_path, due_at, id) WHERE state NOT IN ('void', 'closed');

-- Exports read a subtree a batch at a time in (area_path, key) order: each batch is one range
-- of these indexes, whatever the planner guesses of the subtree's size.
DROP INDEX houses_area_path;
CREATE INDEX houses_area_path ON houses (area_path, code);
DROP INDEX households_area_path;
CREATE INDEX households_area_path ON households (area_path, code);
DROP INDEX residents_area_path;
CREATE INDEX residents_area_path ON residents (area_path, id);
