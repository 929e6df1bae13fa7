-- Argo CD health check for the managed resources of auth0-operator: auth0.operator.dev/v1alpha1
-- Auth0Client, Auth0ClientGrant and Auth0ResourceServer (one script for the three kinds).
--
-- Single source of truth: deploy/argocd/health-resource.lua.
-- deploy/argocd/argocd-cm-values.yaml and docs/argocd.md embed this file verbatim, once per kind
-- (resource.customizations.health.auth0.operator.dev_<Kind>); tests/argocd_health.rs checks
-- every copy and runs this script against tests/data/argocd/auth0client-*.yaml,
-- auth0clientgrant-*.yaml and auth0resourceserver-*.yaml.
--
-- Argo CD runs health scripts in gopher-lua (Lua 5.1) with only the base, table and (safe) os
-- libraries: no `string` or `math` library, so this script uses neither.
--
--   being deleted                          -> Progressing "Deleting"
--   no status / no Ready condition yet     -> Progressing "Waiting for the operator"
--   observedGeneration < generation        -> Progressing "Reconciling generation N"
--   Ready=True                             -> Healthy     (condition message; with InSync=False,
--                                             i.e. managementPolicy Observe and drift, the
--                                             drift is appended: the object works, and the
--                                             message says what differs from the spec)
--   Ready=False, ClientNotReady, ResourceServerNotReady, TenantNotFound, TenantNotReady,
--   Reconciling, RateLimited or Auth0Unavailable
--                                          -> Progressing (condition message; the operator waits
--                                             for the referenced client, API or tenant, or
--                                             retries by itself)
--   Ready=False, any other reason (TenantNotAllowed, InvalidSpec, Auth0Error, AlreadyExists,
--   UnknownScopes, ...)                    -> Degraded    (condition message)
--   Ready=Unknown (or anything else)       -> Progressing (condition message)
hs = {}

-- Ready=False reasons the operator resolves by itself, given time.
local waiting = {
  ClientNotReady = true,
  ResourceServerNotReady = true,
  TenantNotFound = true,
  TenantNotReady = true,
  Reconciling = true,
  RateLimited = true,
  Auth0Unavailable = true,
}

local function describe(cond, fallback)
  if cond.message ~= nil and cond.message ~= "" then
    return cond.message
  end
  if cond.reason ~= nil and cond.reason ~= "" then
    return fallback .. " (" .. cond.reason .. ")"
  end
  return fallback
end

local meta = obj.metadata or {}
if meta.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Deleting"
  return hs
end

local ready = nil
local insync = nil
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" then
      ready = c
    end
    if c.type == "InSync" then
      insync = c
    end
  end
end
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator"
  return hs
end

local observed = obj.status.observedGeneration
if observed == nil then
  observed = ready.observedGeneration
end
if meta.generation ~= nil and observed ~= nil and observed < meta.generation then
  hs.status = "Progressing"
  hs.message = "Reconciling generation " .. meta.generation
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  if insync ~= nil and insync.status == "False" then
    hs.message = hs.message .. "; " .. describe(insync, "Drifted")
  end
elseif ready.status == "False" then
  if ready.reason ~= nil and waiting[ready.reason] then
    hs.status = "Progressing"
  else
    hs.status = "Degraded"
  end
  hs.message = describe(ready, "Not ready")
else
  hs.status = "Progressing"
  hs.message = describe(ready, "Readiness unknown")
end
return hs
