-- @remote
-- Every shard checks the acting guest and stores its own timestamps: answer
-- with the home partition's row.
-- @wrapper
DECLARE
    created boolean;
BEGIN
    SELECT bool_or(a.http_status = 201) INTO created
      FROM parley_proxy.guest_upsert(guest_id, display_name, metadata, actor) AS a;
    RETURN parley_proxy.relay(ROW((parley_proxy.guest_get(guest_id)).answer,
                                  CASE WHEN created THEN 201 ELSE 200 END)::parley_proxy.answer);
