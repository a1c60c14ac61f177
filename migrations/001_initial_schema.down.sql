DROP INDEX idx_agents_type_created;
DROP INDEX idx_agents_created;
DROP TABLE agents;
