-- After a few years nearly every case is closed: the owner's queue and the open-case lists read
-- only the open ones, through indexes that hold nothing else. The condition is written exactly
-- as the lists write it, so that the planner sees that they apply.
CREATE INDEX cases_open_owner ON cases (owner_post_id, due_at, id) WHERE state NOT IN ('void', 'closed');
CREATE INDEX cases_open_area ON cases (area_path, due_at, id) WHERE state NOT IN ('void', 'closed');
