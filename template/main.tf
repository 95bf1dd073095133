# scaletest-runner: the Coder template whose one workspace (scaletest/runner) runs a staged scale test.
# Every run setting is a coder_parameter mapped to a SCALETEST_PARAM_* agent env var that
# src/config/runner-env.ts reads; test/unit/template/ checks that the two agree.

terraform {
  required_providers {
    coder = {
      source  = "coder/coder"
      version = ">= 0.23.0, < 3.0.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.30"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 0.11"
    }
  }
}

# In-cluster config: the provisioner runs in the cluster it provisions into.
provider "kubernetes" {
  config_path = null
}

data "coder_provisioner" "me" {}
data "coder_workspace" "me" {}
data "coder_workspace_owner" "me" {}

# -----------------------------------------------------------------------------
# Parameters. Names follow the upstream runner so `coder create --parameter` lines keep working.
# Durations are numbers in the unit their description names; main.tf appends the unit so the
# runner receives a Go duration ("30m").
# -----------------------------------------------------------------------------

data "coder_parameter" "verbose" {
  order       = 1
  name        = "Verbose"
  type        = "bool"
  default     = false
  description = "Show debug output."
  mutable     = true
  ephemeral   = true
}

data "coder_parameter" "dry_run" {
  order       = 2
  name        = "Dry-run"
  type        = "bool"
  default     = true
  description = "Print the plan and what would be done; create, delete and post nothing. On by default: the first start of a new workspace is always harmless."
  mutable     = true
  ephemeral   = true
}

data "coder_parameter" "comment" {
  order       = 3
  name        = "Comment"
  type        = "string"
  default     = ""
  description = "Describe **what** this run tests and **why**. Shown in Slack, Grafana annotations and the report."
  mutable     = true
  ephemeral   = true
  validation {
    regex = "^(?s).{0,1000}$"
    error = "The comment can be at most 1000 characters."
  }
}

data "coder_parameter" "create_concurrency" {
  order       = 10
  name        = "Create concurrency"
  type        = "number"
  default     = 10
  description = "Number of workspaces built at once."
  mutable     = true
  validation {
    min = 1
    max = 100
  }
}

data "coder_parameter" "job_concurrency" {
  order       = 11
  name        = "Job concurrency"
  type        = "number"
  default     = 0
  description = "Number of traffic jobs run at once (0 = unlimited)."
  mutable     = true
  validation {
    min = 0
    max = 2000
  }
}

data "coder_parameter" "runner_shards" {
  order       = 16
  name        = "Runner shards"
  type        = "number"
  default     = 1
  description = "Pods that share each traffic phase: 1 runs it in the runner pod, more run it as a Kubernetes Indexed Job of that many shard pods (1 = this pod alone)."
  mutable     = true
  validation {
    min = 1
    max = 100
  }
}

data "coder_parameter" "cleanup_concurrency" {
  order       = 12
  name        = "Cleanup concurrency"
  type        = "number"
  default     = 10
  description = "Number of workspaces deleted at once during cleanup."
  mutable     = true
  validation {
    min = 1
    max = 100
  }
}

data "coder_parameter" "cleanup_strategy" {
  order       = 13
  name        = "Cleanup strategy"
  type        = "string"
  default     = "always"
  description = "When the workspaces and users this run created are deleted."
  mutable     = true
  ephemeral   = true
  option {
    name        = "Always"
    value       = "always"
    description = "Clean up when the test ends, whatever the outcome."
  }
  option {
    name        = "On stop"
    value       = "on_stop"
    description = "Clean up when the workspace is stopped."
  }
  option {
    name        = "On success"
    value       = "on_success"
    description = "Clean up when the test ends, if it passed."
  }
  option {
    name        = "On error"
    value       = "on_error"
    description = "Clean up when the test ends, if it failed."
  }
}

data "coder_parameter" "cleanup_prepare" {
  order       = 14
  name        = "Cleanup before scaletest"
  type        = "bool"
  default     = true
  description = "Delete what earlier runs left behind (from their run ledgers) before starting."
  mutable     = true
  ephemeral   = true
}

data "coder_parameter" "cleanup_timeout" {
  order       = 15
  name        = "Cleanup timeout"
  type        = "number"
  default     = 300
  description = "Deadline for the whole cleanup, in minutes. The pod's termination grace period is this plus one minute, so a cleanup on stop can finish."
  mutable     = true
  validation {
    min = 1
    max = 600
  }
}

data "coder_parameter" "workspace_template" {
  order        = 20
  name         = "workspace_template"
  display_name = "Workspace Template"
  type         = "string"
  default      = "kubernetes-minimal"
  description  = "The template the test creates workspaces from (template/variants). App Traffic needs Minimal, the only one serving the wsec/wsra/wsdi apps."
  icon         = "/emojis/1f4dc.png"
  mutable      = true
  option {
    name        = "Minimal"
    value       = "kubernetes-minimal"
    icon        = "/emojis/1fab6.png"
    description = "100m CPU / 320Mi; about 32 per 8-core node. Serves the App Traffic targets."
  }
  option {
    name        = "Small"
    value       = "kubernetes-small"
    icon        = "/emojis/1f42d.png"
    description = "1 CPU / 1Gi, no persistent storage."
  }
  option {
    name        = "Medium"
    value       = "kubernetes-medium"
    icon        = "/emojis/1f436.png"
    description = "2 CPU / 2Gi, no persistent storage."
  }
  option {
    name        = "Medium (Greedy)"
    value       = "kubernetes-medium-greedy"
    icon        = "/emojis/1f436.png"
    description = "2 CPU / 2Gi; the agent reports 16 oversized metadata items every second."
  }
  option {
    name        = "Large"
    value       = "kubernetes-large"
    icon        = "/emojis/1f434.png"
    description = "4 CPU / 4Gi, no persistent storage."
  }
}

data "coder_parameter" "num_workspaces" {
  order       = 21
  name        = "Number of workspaces to create"
  type        = "number"
  default     = 100
  description = "Workspaces (one user each) to create."
  mutable     = true
  validation {
    min = 1
    max = 2000
  }
}

data "coder_parameter" "skip_create_workspaces" {
  order       = 22
  name        = "DEBUG: Skip creating workspaces"
  type        = "bool"
  default     = false
  description = "Reuse the workspaces of an earlier run (resuming or debugging)."
  mutable     = true
}

data "coder_parameter" "load_scenarios" {
  order       = 23
  name        = "Load Scenarios"
  type        = "list(string)"
  default     = jsonencode(["SSH Traffic", "Web Terminal Traffic", "App Traffic", "Dashboard Traffic"])
  description = "Scenarios to run, in order: \"SSH Traffic\", \"Web Terminal Traffic\", \"App Traffic\", \"Dashboard Traffic\"; for testing the runner itself also \"debug:success\", \"debug:error\" and \"debug:greedy_agent_traffic\" (needs Greedy Agent). Unknown names stop the run before anything is created."
  mutable     = true
  ephemeral   = true
}

data "coder_parameter" "load_scenario_run_concurrently" {
  order       = 24
  name        = "Run Load Scenarios Concurrently"
  type        = "bool"
  default     = false
  description = "Run the scenarios at the same time, each on its own slice of the workspaces. Their percentages must then add up to at most 100."
  mutable     = true
}

data "coder_parameter" "load_scenario_concurrency_stagger_delay_mins" {
  order       = 25
  name        = "Load Scenario Concurrency Stagger Delay"
  type        = "number"
  default     = 3
  description = "Minutes between starting scenarios when they run concurrently."
  mutable     = true
  validation {
    min = 0
    max = 60
  }
}

data "coder_parameter" "load_scenario_ssh_traffic_duration" {
  order       = 30
  name        = "SSH Traffic Duration"
  type        = "number"
  default     = 30
  description = "Minutes of SSH traffic."
  mutable     = true
  validation {
    min = 1
    max = 1440
  }
}

data "coder_parameter" "load_scenario_ssh_bytes_per_tick" {
  order       = 31
  name        = "SSH Bytes Per Tick"
  type        = "number"
  default     = 1024
  description = "Bytes each SSH connection writes per tick."
  mutable     = true
  validation {
    min = 1
    max = 33554432
  }
}

data "coder_parameter" "load_scenario_ssh_tick_interval" {
  order       = 32
  name        = "SSH Tick Interval"
  type        = "number"
  default     = 100
  description = "Milliseconds between SSH ticks."
  mutable     = true
  validation {
    min = 1
    max = 60000
  }
}

data "coder_parameter" "load_scenario_ssh_traffic_percentage" {
  order       = 33
  name        = "SSH Traffic Percentage"
  type        = "number"
  default     = 100
  description = "Percentage of the workspaces that get SSH traffic."
  mutable     = true
  validation {
    min = 1
    max = 100
  }
}

data "coder_parameter" "load_scenario_web_terminal_traffic_duration" {
  order       = 40
  name        = "Web Terminal Traffic Duration"
  type        = "number"
  default     = 30
  description = "Minutes of web terminal (reconnecting PTY) traffic."
  mutable     = true
  validation {
    min = 1
    max = 1440
  }
}

data "coder_parameter" "load_scenario_web_terminal_bytes_per_tick" {
  order       = 41
  name        = "Web Terminal Bytes Per Tick"
  type        = "number"
  default     = 1024
  description = "Bytes each web terminal writes per tick."
  mutable     = true
  validation {
    min = 1
    max = 33554432
  }
}

data "coder_parameter" "load_scenario_web_terminal_tick_interval" {
  order       = 42
  name        = "Web Terminal Tick Interval"
  type        = "number"
  default     = 100
  description = "Milliseconds between web terminal ticks."
  mutable     = true
  validation {
    min = 1
    max = 60000
  }
}

data "coder_parameter" "load_scenario_web_terminal_traffic_percentage" {
  order       = 43
  name        = "Web Terminal Traffic Percentage"
  type        = "number"
  default     = 100
  description = "Percentage of the workspaces that get web terminal traffic."
  mutable     = true
  validation {
    min = 1
    max = 100
  }
}

data "coder_parameter" "load_scenario_app_traffic_duration" {
  order       = 50
  name        = "App Traffic Duration"
  type        = "number"
  default     = 30
  description = "Minutes of workspace app (WebSocket) traffic."
  mutable     = true
  validation {
    min = 1
    max = 1440
  }
}

data "coder_parameter" "load_scenario_app_bytes_per_tick" {
  order       = 51
  name        = "App Bytes Per Tick"
  type        = "number"
  default     = 1024
  description = "Bytes each app connection writes per tick."
  mutable     = true
  validation {
    min = 1
    max = 33554432
  }
}

data "coder_parameter" "load_scenario_app_tick_interval" {
  order       = 52
  name        = "App Tick Interval"
  type        = "number"
  default     = 100
  description = "Milliseconds between app ticks."
  mutable     = true
  validation {
    min = 1
    max = 60000
  }
}

data "coder_parameter" "load_scenario_app_traffic_percentage" {
  order       = 53
  name        = "App Traffic Percentage"
  type        = "number"
  default     = 100
  description = "Percentage of the workspaces that get app traffic."
  mutable     = true
  validation {
    min = 1
    max = 100
  }
}

data "coder_parameter" "load_scenario_app_traffic_mode" {
  order       = 54
  name        = "App Traffic Mode"
  type        = "string"
  default     = "wsec"
  description = "Which workspace app the traffic goes to."
  mutable     = true
  option {
    name        = "WebSocket Echo"
    value       = "wsec"
    description = "Send data and read it back."
  }
  option {
    name        = "WebSocket Read (Random)"
    value       = "wsra"
    description = "Read random data from the app."
  }
  option {
    name        = "WebSocket Write (Discard)"
    value       = "wsdi"
    description = "Write data the app discards."
  }
}

data "coder_parameter" "load_scenario_dashboard_traffic_duration" {
  order       = 60
  name        = "Dashboard Traffic Duration"
  type        = "number"
  default     = 30
  description = "Minutes of dashboard traffic (headless Chromium per user)."
  mutable     = true
  validation {
    min = 1
    max = 1440
  }
}

data "coder_parameter" "load_scenario_dashboard_traffic_percentage" {
  order       = 61
  name        = "Dashboard Traffic Percentage"
  type        = "number"
  default     = 100
  description = "Percentage of the scaletest users that browse the dashboard."
  mutable     = true
  validation {
    min = 1
    max = 100
  }
}

data "coder_parameter" "load_scenario_dashboard_traffic_interval" {
  order       = 62
  name        = "Dashboard Traffic Interval"
  type        = "number"
  default     = 10
  description = "Seconds between dashboard actions of one user."
  mutable     = true
  validation {
    min = 1
    max = 3600
  }
}

data "coder_parameter" "load_scenario_dashboard_traffic_jitter" {
  order       = 63
  name        = "Dashboard Traffic Jitter"
  type        = "number"
  default     = 5
  description = "Random extra seconds per dashboard action; must be less than the interval."
  mutable     = true
  validation {
    min = 0
    max = 3600
  }
}

data "coder_parameter" "load_scenario_debug_duration" {
  order       = 70
  name        = "Debug Scenario Duration"
  type        = "number"
  default     = 10
  description = "Seconds the debug:success, debug:error and debug:greedy_agent_traffic scenarios run (they test the runner itself)."
  mutable     = true
  validation {
    min = 1
    max = 3600
  }
}

data "coder_parameter" "load_scenario_baseline_duration" {
  order       = 100
  name        = "Baseline Wait Duration"
  type        = "number"
  default     = 5
  description = "Minutes to wait, without load, after creating workspaces and between sequential scenarios."
  mutable     = true
  validation {
    min = 0
    max = 60
  }
}

data "coder_parameter" "greedy_agent" {
  order       = 200
  name        = "Greedy Agent"
  type        = "bool"
  default     = false
  description = "Also create one greedy workspace that sends bulk traffic (25 MiB every 40 ms) from a third into each traffic scenario."
  mutable     = true
  ephemeral   = true
}

data "coder_parameter" "greedy_agent_template" {
  order        = 201
  name         = "Greedy Agent Template"
  display_name = "Greedy Agent Template"
  type         = "string"
  default      = "kubernetes-medium-greedy"
  description  = "Template of the greedy workspace; must differ from the workspace template."
  icon         = "/emojis/1f4dc.png"
  mutable      = true
  option {
    name  = "Minimal"
    value = "kubernetes-minimal"
    icon  = "/emojis/1fab6.png"
  }
  option {
    name  = "Small"
    value = "kubernetes-small"
    icon  = "/emojis/1f42d.png"
  }
  option {
    name  = "Medium"
    value = "kubernetes-medium"
    icon  = "/emojis/1f436.png"
  }
  option {
    name  = "Medium (Greedy)"
    value = "kubernetes-medium-greedy"
    icon  = "/emojis/1f436.png"
  }
  option {
    name  = "Large"
    value = "kubernetes-large"
    icon  = "/emojis/1f434.png"
  }
}

data "coder_parameter" "metrics_linger" {
  order       = 300
  name        = "Metrics linger"
  type        = "number"
  default     = 60
  description = "Seconds the traffic metrics stay served after a scenario ends, so Prometheus scrapes the final values (PodMonitor interval: 15s)."
  mutable     = true
  validation {
    min = 0
    max = 600
  }
}

data "coder_parameter" "grafana_url" {
  order       = 400
  name        = "Grafana URL"
  type        = "string"
  default     = ""
  description = "Grafana with the scaletest-runner dashboard, for annotations and the dashboard link. Empty turns both off."
  mutable     = true
  validation {
    regex = "^(https?://[^\\s/]+(/\\S*)?)?$"
    error = "Must be an http(s) URL or empty."
  }
}

data "coder_parameter" "thresholds" {
  order       = 110
  name        = "Thresholds"
  type        = "string"
  form_type   = "textarea"
  default     = ""
  description = "Pass/fail thresholds, one per line, e.g. `web_terminal.round_trip.p95 < 200ms` or `error_rate < 1% abortOnFail` (docs/thresholds.md). Coderd-side ones need the Prometheus URL. Empty: no verdict."
  mutable     = true
  ephemeral   = true
  validation {
    regex = "^(?s).{0,8192}$"
    error = "At most 8192 characters."
  }
}

data "coder_parameter" "prometheus_url" {
  order       = 401
  name        = "Prometheus URL"
  type        = "string"
  default     = ""
  description = "Prometheus that scrapes coderd and this pod, for coderd-side thresholds and the Prometheus link. Empty turns both off."
  mutable     = true
  validation {
    regex = "^(https?://[^\\s/]+(/\\S*)?)?$"
    error = "Must be an http(s) URL or empty."
  }
}

data "coder_parameter" "grafana_token_secret" {
  order       = 402
  name        = "Grafana token secret"
  type        = "string"
  default     = "grafana-editor-api-token"
  description = "Kubernetes secret (key `token`) in the namespace holding a Grafana Editor token. Empty for none; a missing secret is skipped."
  mutable     = true
  validation {
    regex = "^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)?$"
    error = "Must be a Kubernetes secret name or empty."
  }
}

data "coder_parameter" "slack_webhook_secret" {
  order       = 403
  name        = "Slack webhook secret"
  type        = "string"
  default     = "slack-scaletest-notifications-webhook-url"
  description = "Kubernetes secret (key `url`) in the namespace holding a Slack incoming webhook. Empty for none; a missing secret is skipped."
  mutable     = true
  validation {
    regex = "^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)?$"
    error = "Must be a Kubernetes secret name or empty."
  }
}

data "coder_parameter" "runner_image" {
  order       = 900
  name        = "Runner image"
  type        = "string"
  default     = "ghcr.io/scaletest-runner/scaletest-runner:latest"
  description = "Image built from template/Dockerfile, for this pod."
  mutable     = true
  validation {
    regex = "^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,511}$"
    error = "Must be a container image reference."
  }
}

data "coder_parameter" "runner_cpu" {
  order       = 901
  name        = "Runner CPU"
  type        = "number"
  default     = 4
  description = "CPU cores requested and limited for this pod."
  mutable     = true
  validation {
    min = 1
    max = 64
  }
}

data "coder_parameter" "runner_memory" {
  order       = 902
  name        = "Runner memory (GiB)"
  type        = "number"
  default     = 8
  description = "Memory in GiB requested and limited for this pod."
  mutable     = true
  validation {
    min = 1
    max = 256
  }
}

data "coder_parameter" "service_account" {
  order       = 903
  name        = "Service account"
  type        = "string"
  default     = "scaletest-sa"
  description = "Service account the template creates for this pod; its namespaced Role lets the runner run shard Jobs."
  mutable     = true
  validation {
    regex = "^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
    error = "Must be a Kubernetes service account name."
  }
}

data "coder_parameter" "namespace" {
  order       = 999
  name        = "Namespace"
  type        = "string"
  default     = "coder-big"
  description = "Kubernetes namespace for the runner pod, its volume and secrets."
  mutable     = false
  validation {
    regex = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
    error = "Must be a Kubernetes namespace name."
  }
}

# -----------------------------------------------------------------------------
# Run identity
# -----------------------------------------------------------------------------

# A new timestamp (and so a new run id) on every start: the owner token is regenerated on each start.
# Triggers are stored in Terraform state, so the token goes in as a hash.
resource "time_static" "start_time" {
  triggers = {
    count      = data.coder_workspace.me.start_count
    token_hash = sha256(data.coder_workspace_owner.me.session_token)
  }
}

# Only scaletest/runner may use this template; default/default is what template import plans with.
resource "terraform_data" "permission_check" {
  count = data.coder_workspace.me.start_count
  lifecycle {
    precondition {
      condition     = can(regex("^(default/default|scaletest/runner)$", "${data.coder_workspace_owner.me.name}/${data.coder_workspace.me.name}"))
      error_message = "The scaletest runner must be the workspace \"runner\" of the user \"scaletest\" (scaletest/runner)."
    }
  }
}

locals {
  owner          = lower(data.coder_workspace_owner.me.name)
  workspace      = lower(data.coder_workspace.me.name)
  pod_name       = "coder-scaletest-runner-${local.owner}-${local.workspace}"
  pod_instance   = "coder-workspace-${local.owner}-${local.workspace}"
  namespace      = data.coder_parameter.namespace.value
  home_disk_size = 10
  app_dir        = "/opt/scaletest-runner"

  run_start_time = time_static.start_time.rfc3339
  run_id         = "scaletest-${replace(time_static.start_time.rfc3339, ":", "-")}"
  run_dir        = "/home/coder/${local.run_id}"

  cleanup_timeout_seconds = tonumber(data.coder_parameter.cleanup_timeout.value) * 60
  # Longer than the cleanup timeout so a cleanup on stop finishes before the kubelet kills the pod.
  grace_period_seconds = local.cleanup_timeout_seconds + 60

  # Container port names are at most 15 characters; the PodMonitor scrapes them by name.
  metrics_ports = {
    "prom-traffic" = 21112
    "prom-dash"    = 21113
    "prom-runner"  = 21114
  }

  # Shard pods (Runner shards > 1) carry the runner's instance label plus "-shard", so the PodMonitor finds them.
  shard_instance = "${local.pod_instance}-shard"
  shard_secret   = "${local.pod_name}-shard-token"

  grafana_url     = trimsuffix(data.coder_parameter.grafana_url.value, "/")
  grafana_app_url = "${local.grafana_url}/d/scaletest-runner/scaletest-runner?orgId=1&from=${time_static.start_time.unix * 1000}&to=now"

  labels = {
    "app.kubernetes.io/name"     = "coder-workspace"
    "app.kubernetes.io/instance" = local.pod_instance
    "app.kubernetes.io/part-of"  = "coder"
    "com.coder.resource"         = "true"
    "com.coder.workspace.id"     = data.coder_workspace.me.id
    "com.coder.workspace.name"   = data.coder_workspace.me.name
    "com.coder.user.id"          = data.coder_workspace_owner.me.id
    "com.coder.user.username"    = data.coder_workspace_owner.me.name
  }
}

# -----------------------------------------------------------------------------
# Agent
# -----------------------------------------------------------------------------

resource "coder_agent" "main" {
  arch = data.coder_provisioner.me.arch
  os   = "linux"
  dir  = "/home/coder"

  env = {
    # Deployment and run context.
    CODER_URL                = data.coder_workspace.me.access_url
    CODER_SESSION_TOKEN      = data.coder_workspace_owner.me.session_token
    CODER_USER               = data.coder_workspace_owner.me.name
    CODER_WORKSPACE          = data.coder_workspace.me.name
    SCALETEST_RUN_ID         = local.run_id
    SCALETEST_RUN_DIR        = local.run_dir
    SCALETEST_RUN_START_TIME = local.run_start_time
    SCALETEST_SHARD_SECRET   = local.shard_secret

    # Metrics ports (the PodMonitor scrapes the same ports by name).
    SCALETEST_TRAFFIC_METRICS_PORT   = "21112"
    SCALETEST_DASHBOARD_METRICS_PORT = "21113"
    SCALETEST_RUNNER_METRICS_PORT    = "21114"

    # How far ahead a sharded phase sets its shared start (image pull and scheduling of the shard pods).
    SCALETEST_SHARD_START_LEAD = "1m30s"

    # Run settings.
    SCALETEST_PARAM_VERBOSE                                           = data.coder_parameter.verbose.value
    SCALETEST_PARAM_DRY_RUN                                           = data.coder_parameter.dry_run.value
    SCALETEST_PARAM_COMMENT                                           = data.coder_parameter.comment.value
    SCALETEST_PARAM_CREATE_CONCURRENCY                                = data.coder_parameter.create_concurrency.value
    SCALETEST_PARAM_SCALETEST_CONCURRENCY                             = data.coder_parameter.job_concurrency.value
    SCALETEST_PARAM_RUNNER_SHARDS                                     = data.coder_parameter.runner_shards.value
    SCALETEST_PARAM_SCALETEST_CLEANUP_CONCURRENCY                     = data.coder_parameter.cleanup_concurrency.value
    SCALETEST_PARAM_CLEANUP_STRATEGY                                  = data.coder_parameter.cleanup_strategy.value
    SCALETEST_PARAM_CLEANUP_PREPARE                                   = data.coder_parameter.cleanup_prepare.value
    SCALETEST_PARAM_CLEANUP_TIMEOUT                                   = "${data.coder_parameter.cleanup_timeout.value}m"
    SCALETEST_PARAM_TEMPLATE                                          = data.coder_parameter.workspace_template.value
    SCALETEST_PARAM_NUM_WORKSPACES                                    = data.coder_parameter.num_workspaces.value
    SCALETEST_PARAM_SKIP_CREATE_WORKSPACES                            = data.coder_parameter.skip_create_workspaces.value
    SCALETEST_PARAM_LOAD_SCENARIOS                                    = data.coder_parameter.load_scenarios.value
    SCALETEST_PARAM_LOAD_SCENARIO_RUN_CONCURRENTLY                    = data.coder_parameter.load_scenario_run_concurrently.value
    SCALETEST_PARAM_LOAD_SCENARIO_CONCURRENCY_STAGGER_DELAY           = "${data.coder_parameter.load_scenario_concurrency_stagger_delay_mins.value}m"
    SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_DURATION                = "${data.coder_parameter.load_scenario_ssh_traffic_duration.value}m"
    SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_BYTES_PER_TICK          = data.coder_parameter.load_scenario_ssh_bytes_per_tick.value
    SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_TICK_INTERVAL           = "${data.coder_parameter.load_scenario_ssh_tick_interval.value}ms"
    SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_PERCENTAGE              = data.coder_parameter.load_scenario_ssh_traffic_percentage.value
    SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_DURATION       = "${data.coder_parameter.load_scenario_web_terminal_traffic_duration.value}m"
    SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_BYTES_PER_TICK = data.coder_parameter.load_scenario_web_terminal_bytes_per_tick.value
    SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_TICK_INTERVAL  = "${data.coder_parameter.load_scenario_web_terminal_tick_interval.value}ms"
    SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_PERCENTAGE     = data.coder_parameter.load_scenario_web_terminal_traffic_percentage.value
    SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_DURATION                = "${data.coder_parameter.load_scenario_app_traffic_duration.value}m"
    SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_BYTES_PER_TICK          = data.coder_parameter.load_scenario_app_bytes_per_tick.value
    SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_TICK_INTERVAL           = "${data.coder_parameter.load_scenario_app_tick_interval.value}ms"
    SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_PERCENTAGE              = data.coder_parameter.load_scenario_app_traffic_percentage.value
    SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_MODE                    = data.coder_parameter.load_scenario_app_traffic_mode.value
    SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_DURATION          = "${data.coder_parameter.load_scenario_dashboard_traffic_duration.value}m"
    SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_PERCENTAGE        = data.coder_parameter.load_scenario_dashboard_traffic_percentage.value
    SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_INTERVAL          = "${data.coder_parameter.load_scenario_dashboard_traffic_interval.value}s"
    SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_JITTER            = "${data.coder_parameter.load_scenario_dashboard_traffic_jitter.value}s"
    SCALETEST_PARAM_LOAD_SCENARIO_DEBUG_DURATION                      = "${data.coder_parameter.load_scenario_debug_duration.value}s"
    SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION                   = "${data.coder_parameter.load_scenario_baseline_duration.value}m"
    SCALETEST_PARAM_GREEDY_AGENT                                      = data.coder_parameter.greedy_agent.value
    SCALETEST_PARAM_GREEDY_AGENT_TEMPLATE                             = data.coder_parameter.greedy_agent_template.value
    SCALETEST_PARAM_METRICS_LINGER                                    = "${data.coder_parameter.metrics_linger.value}s"
    SCALETEST_PARAM_GRAFANA_URL                                       = data.coder_parameter.grafana_url.value
    SCALETEST_PARAM_PROMETHEUS_URL                                    = data.coder_parameter.prometheus_url.value
    SCALETEST_PARAM_THRESHOLDS                                        = data.coder_parameter.thresholds.value
    SCALETEST_PARAM_GRAFANA_TOKEN_SECRET                              = data.coder_parameter.grafana_token_secret.value
    SCALETEST_PARAM_SLACK_WEBHOOK_SECRET                              = data.coder_parameter.slack_webhook_secret.value
    SCALETEST_PARAM_RUNNER_IMAGE                                      = data.coder_parameter.runner_image.value
    SCALETEST_PARAM_RUNNER_CPU                                        = data.coder_parameter.runner_cpu.value
    SCALETEST_PARAM_RUNNER_MEMORY                                     = data.coder_parameter.runner_memory.value
    SCALETEST_PARAM_SERVICE_ACCOUNT                                   = data.coder_parameter.service_account.value
    SCALETEST_PARAM_NAMESPACE                                         = data.coder_parameter.namespace.value
  }

  display_apps {
    vscode     = false
    ssh_helper = false
  }

  # Keys are numbered so the UI lists them in this order.
  metadata {
    key          = "00_scaletest_status"
    display_name = "Scaletest status"
    script       = "node ${local.app_dir}/scripts/metadata.js status"
    interval     = 2
    timeout      = 2
  }
  metadata {
    key          = "01_scaletest_phase"
    display_name = "Scaletest phase"
    script       = "node ${local.app_dir}/scripts/metadata.js phase"
    interval     = 2
    timeout      = 2
  }
  metadata {
    key          = "02_scaletest_previous_phase"
    display_name = "Scaletest phase (previous)"
    script       = "node ${local.app_dir}/scripts/metadata.js previous-phase"
    interval     = 2
    timeout      = 2
  }
  metadata {
    key          = "80_cpu_usage"
    display_name = "CPU Usage"
    script       = "coder stat cpu"
    interval     = 10
    timeout      = 1
  }
  metadata {
    key          = "81_ram_usage"
    display_name = "RAM Usage"
    script       = "coder stat mem"
    interval     = 10
    timeout      = 1
  }
  metadata {
    key          = "82_home_disk"
    display_name = "Home Disk"
    script       = "coder stat disk --path $${HOME}"
    interval     = 60
    timeout      = 1
  }
  metadata {
    key          = "83_cpu_usage_host"
    display_name = "CPU Usage (Host)"
    script       = "coder stat cpu --host"
    interval     = 10
    timeout      = 1
  }
  metadata {
    key          = "84_mem_usage_host"
    display_name = "Memory Usage (Host)"
    script       = "coder stat mem --host"
    interval     = 10
    timeout      = 1
  }
  metadata {
    key          = "85_load_host"
    display_name = "Load Average (Host)"
    script       = "awk -v n=\"$(nproc)\" '{ printf \"%.2f\", $1 / n }' /proc/loadavg"
    interval     = 60
    timeout      = 1
  }
}

# The coder CLI is not in the image: it must match the deployment's version, so each start downloads
# it from the deployment itself ($CODER_URL/bin/coder-linux-<arch>) into ~/.local/bin (on PATH).
resource "coder_script" "startup" {
  agent_id     = coder_agent.main.id
  display_name = "Scaletest"
  icon         = "/emojis/1f680.png"
  run_on_start = true
  script       = <<-EOT
    #!/bin/sh
    set -eu
    case "$(uname -m)" in
      x86_64) arch=amd64 ;;
      aarch64) arch=arm64 ;;
      armv7l) arch=armv7 ;;
      *) echo "unsupported architecture $(uname -m)" >&2; exit 1 ;;
    esac
    mkdir -p "$HOME/.local/bin"
    curl -fsSL --retry 5 -o "$HOME/.local/bin/coder.download" "$${CODER_URL%/}/bin/coder-linux-$arch"
    chmod 0755 "$HOME/.local/bin/coder.download"
    mv "$HOME/.local/bin/coder.download" "$HOME/.local/bin/coder"
    cd ${local.app_dir}
    exec tsx scripts/startup.ts
  EOT
}

# Bounded by the cleanup timeout; the pod's grace period is a minute longer.
resource "coder_script" "shutdown" {
  agent_id     = coder_agent.main.id
  display_name = "Scaletest shutdown"
  icon         = "/emojis/1f6d1.png"
  run_on_stop  = true
  timeout      = local.cleanup_timeout_seconds
  script       = <<-EOT
    #!/bin/sh
    set -eu
    cd ${local.app_dir}
    exec tsx scripts/shutdown.ts
  EOT
}

# -----------------------------------------------------------------------------
# Apps
# -----------------------------------------------------------------------------

resource "coder_app" "grafana" {
  count        = local.grafana_url == "" ? 0 : 1
  agent_id     = coder_agent.main.id
  slug         = "00-grafana"
  display_name = "Grafana"
  icon         = "https://grafana.com/static/assets/img/fav32.png"
  url          = local.grafana_app_url
  external     = true
}

resource "coder_app" "prometheus" {
  count        = data.coder_parameter.prometheus_url.value == "" ? 0 : 1
  agent_id     = coder_agent.main.id
  slug         = "01-prometheus"
  display_name = "Prometheus"
  icon         = "https://prometheus.io/assets/favicons/favicon-32x32.png"
  url          = data.coder_parameter.prometheus_url.value
  external     = true
}

resource "coder_app" "manual_cleanup" {
  agent_id     = coder_agent.main.id
  slug         = "02-manual-cleanup"
  display_name = "Manual cleanup"
  icon         = "/emojis/1f9f9.png"
  command      = "cd ${local.app_dir} && tsx scripts/cleanup.ts manual"
}

# -----------------------------------------------------------------------------
# Kubernetes
# -----------------------------------------------------------------------------

# Run artifacts (state, results, logs, reports) survive stops: no count on the volume.
resource "kubernetes_persistent_volume_claim" "home" {
  depends_on = [terraform_data.permission_check]
  metadata {
    name      = "${local.pod_name}-home"
    namespace = local.namespace
    labels = merge(local.labels, {
      "app.kubernetes.io/name"     = "coder-pvc"
      "app.kubernetes.io/instance" = "coder-pvc-${local.owner}-${local.workspace}"
    })
    annotations = {
      "com.coder.user.email" = data.coder_workspace_owner.me.email
    }
  }
  wait_until_bound = false
  spec {
    access_modes = ["ReadWriteOnce"]
    resources {
      requests = {
        storage = "${local.home_disk_size}Gi"
      }
    }
  }
}

resource "kubernetes_pod" "main" {
  count      = data.coder_workspace.me.start_count
  depends_on = [terraform_data.permission_check]

  metadata {
    name      = local.pod_name
    namespace = local.namespace
    labels    = local.labels
    annotations = {
      "com.coder.user.email" = data.coder_workspace_owner.me.email
    }
  }

  timeouts {
    delete = "${local.grace_period_seconds + 120}s"
  }

  spec {
    service_account_name             = kubernetes_service_account.runner.metadata[0].name
    automount_service_account_token  = true
    termination_grace_period_seconds = local.grace_period_seconds
    security_context {
      run_as_user = 1000
      fs_group    = 1000
    }

    container {
      name              = "dev"
      image             = data.coder_parameter.runner_image.value
      image_pull_policy = "Always"
      command           = ["sh", "-c", coder_agent.main.init_script]
      security_context {
        run_as_user = "1000"
      }

      env {
        name  = "CODER_AGENT_TOKEN"
        value = coder_agent.main.token
      }
      # The runner's own pod, for the shard Jobs: they take its image, resources, service account and scheduling.
      env {
        name = "POD_NAME"
        value_from {
          field_ref {
            field_path = "metadata.name"
          }
        }
      }
      env {
        name = "POD_NAMESPACE"
        value_from {
          field_ref {
            field_path = "metadata.namespace"
          }
        }
      }
      # Secrets come from Kubernetes, never from Terraform state; optional so a missing secret only turns the feature off.
      dynamic "env" {
        for_each = data.coder_parameter.grafana_token_secret.value == "" ? [] : [data.coder_parameter.grafana_token_secret.value]
        content {
          name = "GRAFANA_API_TOKEN"
          value_from {
            secret_key_ref {
              name     = env.value
              key      = "token"
              optional = true
            }
          }
        }
      }
      dynamic "env" {
        for_each = data.coder_parameter.slack_webhook_secret.value == "" ? [] : [data.coder_parameter.slack_webhook_secret.value]
        content {
          name = "SLACK_WEBHOOK_URL"
          value_from {
            secret_key_ref {
              name     = env.value
              key      = "url"
              optional = true
            }
          }
        }
      }

      resources {
        requests = {
          cpu    = data.coder_parameter.runner_cpu.value
          memory = "${data.coder_parameter.runner_memory.value}Gi"
        }
        limits = {
          cpu    = data.coder_parameter.runner_cpu.value
          memory = "${data.coder_parameter.runner_memory.value}Gi"
        }
      }

      dynamic "port" {
        for_each = local.metrics_ports
        content {
          name           = port.key
          container_port = port.value
          protocol       = "TCP"
        }
      }

      volume_mount {
        mount_path = "/home/coder"
        name       = "home"
      }
    }

    volume {
      name = "home"
      persistent_volume_claim {
        claim_name = kubernetes_persistent_volume_claim.home.metadata[0].name
      }
    }

    # Stay off the nodes running the workspaces under test where the scheduler can.
    affinity {
      pod_anti_affinity {
        preferred_during_scheduling_ignored_during_execution {
          weight = 1
          pod_affinity_term {
            topology_key = "kubernetes.io/hostname"
            label_selector {
              match_expressions {
                key      = "app.kubernetes.io/name"
                operator = "In"
                values   = ["coder-workspace"]
              }
            }
          }
        }
      }
    }
  }
}

# The runner's identity in the cluster. Its Role allows what the shard coordinator calls and nothing else, in this
# namespace only: Jobs (create, watch, delete; cleanup lists them), pods and their logs (the shards' results). No
# count: a cleanup on stop still deletes shard Jobs while the pod shuts down.
resource "kubernetes_service_account" "runner" {
  depends_on = [terraform_data.permission_check]
  metadata {
    name      = data.coder_parameter.service_account.value
    namespace = local.namespace
  }
}

resource "kubernetes_role" "runner" {
  depends_on = [terraform_data.permission_check]
  metadata {
    name      = "${local.pod_name}-shards"
    namespace = local.namespace
  }
  rule {
    api_groups = ["batch"]
    resources  = ["jobs"]
    verbs      = ["create", "get", "list", "watch", "delete"]
  }
  rule {
    api_groups = [""]
    resources  = ["pods"]
    verbs      = ["get", "list"]
  }
  rule {
    api_groups = [""]
    resources  = ["pods/log"]
    verbs      = ["get"]
  }
}

resource "kubernetes_role_binding" "runner" {
  depends_on = [terraform_data.permission_check]
  metadata {
    name      = "${local.pod_name}-shards"
    namespace = local.namespace
  }
  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "Role"
    name      = kubernetes_role.runner.metadata[0].name
  }
  subject {
    kind      = "ServiceAccount"
    name      = kubernetes_service_account.runner.metadata[0].name
    namespace = local.namespace
  }
}

# The Coder token of the shard pods (Runner shards > 1): they read it through a secretKeyRef, so it is never in a Job
# spec. It is the owner's session token, which the agent env already carries; it goes with the workspace's stop.
resource "kubernetes_secret" "shard_token" {
  count      = data.coder_workspace.me.start_count
  depends_on = [terraform_data.permission_check]
  metadata {
    name      = local.shard_secret
    namespace = local.namespace
  }
  data = {
    token = data.coder_workspace_owner.me.session_token
  }
}

# Prometheus Operator scrapes the traffic, dashboard and runner metrics ports (needs the PodMonitor CRD), of the
# runner pod and of its shard pods.
resource "kubernetes_manifest" "pod_monitor" {
  count = data.coder_workspace.me.start_count
  manifest = {
    apiVersion = "monitoring.coreos.com/v1"
    kind       = "PodMonitor"
    metadata = {
      namespace = local.namespace
      name      = "podmonitor-${local.pod_name}"
    }
    spec = {
      selector = {
        matchExpressions = [{
          key      = "app.kubernetes.io/instance"
          operator = "In"
          values   = [local.pod_instance, local.shard_instance]
        }]
      }
      podMetricsEndpoints = [
        for name in keys(local.metrics_ports) : {
          port     = name
          interval = "15s"
        }
      ]
    }
  }
}
