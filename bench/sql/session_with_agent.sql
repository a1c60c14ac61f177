SELECT s.id, s.name, s.main_agent_id, s.sub_agent_ids, s.user_goal, s.status,
       s.external_session_id, s.model, s.plan_model, s.small_model, s.built_in_tools, s.mcps,
       s.knowledges, s.configuration, s.accessible_paths, s.permission_mode, s.max_steps,
       s.created_at, s.updated_at,
       a.id, a.type, a.name, a.description, a.avatar, a.instructions, a.model, a.plan_model,
       a.small_model, a.built_in_tools, a.mcps, a.knowledges, a.configuration,
       a.accessible_paths, a.permission_mode, a.max_steps, a.created_at, a.updated_at
FROM sessions AS s
JOIN agents AS a ON a.id = s.main_agent_id
WHERE s.id = ?
