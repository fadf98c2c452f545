# Sourced by the benches: signs up the first user on "$1" (the instance's base URL) into the
# cookie jar "$jar", creates and activates a workflow "webhook → document", and sets `ws` (the
# workspace) and `path` (the webhook's path on the site).
# The setup call answers with the new workspace in its Location header.
ws=$(curl -s -c "$jar" -o /dev/null -D - "$1/api/auth/setup" \
  --data 'name=Bench&email=bench@example.com&password=benchmark-password&workspace_name=Bench' \
  | tr -d '\r' | sed -n 's#^[Ll]ocation: /w/##p')
wf=$(curl -fs -b "$jar" "$1/api/workflows/create" --data "workspace_id=$ws&name=Hook&description=" | tr -d '"')
hook=00000000-0000-0000-0000-000000000001
graph='{"nodes":[
  {"id":"'$hook'","name":"Hook","x":0,"y":0,"kind":"webhook","config":{"method":"POST","require_signature":false}},
  {"id":"00000000-0000-0000-0000-000000000002","name":"Note","x":280,"y":0,"kind":"document","config":{"title":"Order","template":"Order {{ trigger.body.id }}"}}],
  "edges":[{"id":"00000000-0000-0000-0000-000000000101","source":"'$hook'","target":"00000000-0000-0000-0000-000000000002","condition":null,"is_default":false}]}'
curl -fs -b "$jar" -H 'Content-Type: application/json' "$1/api/workflows/save" \
  -d '{"workspace_id":"'$ws'","workflow_id":"'$wf'","version":1,"graph":'"$graph"'}' >/dev/null
curl -fs -b "$jar" -H 'Content-Type: application/json' "$1/api/workflows/set_status" \
  -d '{"workspace_id":"'$ws'","workflow_id":"'$wf'","version":2,"transition":"activate","message":""}' >/dev/null
path=$(curl -fs -b "$jar" "$1/api/engine/webhook" --data "workspace_id=$ws&workflow_id=$wf&node_id=$hook&renew=false" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["path"])')
