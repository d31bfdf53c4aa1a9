"""convoy's local stack in Python: moto with the ECS rollout simulator, the Lambda shim, the local state machine
definition, the demo world, and a release runner. Run a module from the repository root with
`PYTHONPATH=local .tools/venv/bin/python -m convoy_local.<module>` (the scripts in local/ do).

  control      the local moto server as a client sees it: AWS clients with test credentials, the simulator's
               fault, seed and stats endpoints
  render       template.yaml + the ASL -> a definition with local function ARNs (local/render_sfn.py)
  seed         the demo world examples/deployment.yaml releases, and the release records bucket
  release      run one release on moto's Step Functions engine and show what happened
  moto_server  moto + ECS rollout simulator + fault injection + call counters (local/moto_server.py)
  lambda_shim  Lambda Invoke semantics in front of `cargo lambda watch`
  moto_pin     the moto version the simulator's patches are written against
"""
