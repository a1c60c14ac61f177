INSERT INTO agents (id, type, name, description, instructions, model, small_model,
                    built_in_tools, mcps, knowledges, configuration, accessible_paths,
                    permission_mode, max_steps, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
        strftime('%Y-%m-%dT%H:%M:%fZ', ?15 / 1000.0, 'unixepoch'),
        strftime('%Y-%m-%dT%H:%M:%fZ', ?15 / 1000.0, 'unixepoch'))
