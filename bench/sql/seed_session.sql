INSERT INTO sessions (id, name, main_agent_id, user_goal, status, model, built_in_tools,
                      max_steps, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,
        strftime('%Y-%m-%dT%H:%M:%fZ', ?9 / 1000.0, 'unixepoch'),
        strftime('%Y-%m-%dT%H:%M:%fZ', ?9 / 1000.0, 'unixepoch'))
