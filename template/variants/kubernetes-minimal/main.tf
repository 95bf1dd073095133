# kubernetes-minimal: the smallest scaletest workspace (100m CPU / 320Mi) and the only one serving the
# App Traffic targets: WebSocket apps wsec (echo), wsra (random) and wsdi (discard).

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
  }
}

provider "coder" {}

# In-cluster config.
provider "kubernetes" {
  config_path = null
}

variable "namespace" {
  type        = string
  default     = "coder-big"
  description = "Namespace the scaletest workspaces run in."
}

variable "kubernetes_nodepool_workspaces" {
  type        = string
  default     = ""
  description = "GKE node pool (cloud.google.com/gke-nodepool) the workspaces must run on; empty for any node."
}

data "coder_provisioner" "me" {}
data "coder_workspace" "me" {}
data "coder_workspace_owner" "me" {}

locals {
  name = "coder-${lower(data.coder_workspace_owner.me.name)}-${lower(data.coder_workspace.me.name)}"
}

# The agent is named "m" and the slugs have four letters: subdomain app hosts
# (<slug>--<agent>--<workspace>--<owner>--<wildcard>) must fit a 63-character DNS label.
resource "coder_agent" "m" {
  os   = "linux"
  arch = data.coder_provisioner.me.arch

  metadata {
    key          = "0_cpu_usage"
    display_name = "CPU Usage"
    script       = "coder stat cpu"
    interval     = 10
    timeout      = 1
  }
  metadata {
    key          = "1_ram_usage"
    display_name = "RAM Usage"
    script       = "coder stat mem"
    interval     = 10
    timeout      = 1
  }
}

# Core Perl (present wherever git is, as in codercom/enterprise-minimal) serves the three apps, so a
# workspace start downloads nothing from the internet.
resource "coder_script" "ws_apps" {
  agent_id     = coder_agent.m.id
  display_name = "ws-apps"
  icon         = "/emojis/1f50c.png"
  run_on_start = true
  script       = <<-EOT
    #!/bin/sh
    set -eu
    echo '${base64encode(file("${path.module}/ws-apps.pl"))}' | base64 -d > /tmp/ws-apps.pl
    perl /tmp/ws-apps.pl echo 1234 &
    perl /tmp/ws-apps.pl random 1235 &
    perl /tmp/ws-apps.pl discard 1236 &
    wait
  EOT
}

# One block per app (not for_each) so anyone reading the template sees each slug and port.
resource "coder_app" "ws_echo" {
  agent_id     = coder_agent.m.id
  slug         = "wsec"
  display_name = "WebSocket Echo"
  url          = "http://localhost:1234"
  subdomain    = true
  share        = "authenticated"
}

resource "coder_app" "ws_random" {
  agent_id     = coder_agent.m.id
  slug         = "wsra"
  display_name = "WebSocket Random"
  url          = "http://localhost:1235"
  subdomain    = true
  share        = "authenticated"
}

resource "coder_app" "ws_discard" {
  agent_id     = coder_agent.m.id
  slug         = "wsdi"
  display_name = "WebSocket Discard"
  url          = "http://localhost:1236"
  subdomain    = true
  share        = "authenticated"
}

resource "kubernetes_deployment" "main" {
  count            = data.coder_workspace.me.start_count
  wait_for_rollout = false

  metadata {
    name      = local.name
    namespace = var.namespace
    labels = {
      "app.kubernetes.io/name"     = "coder-workspace"
      "app.kubernetes.io/instance" = local.name
      "app.kubernetes.io/part-of"  = "coder"
      "com.coder.resource"         = "true"
      "com.coder.workspace.id"     = data.coder_workspace.me.id
      "com.coder.workspace.name"   = data.coder_workspace.me.name
      "com.coder.user.id"          = data.coder_workspace_owner.me.id
      "com.coder.user.username"    = data.coder_workspace_owner.me.name
    }
  }

  spec {
    replicas = 1
    strategy {
      type = "Recreate"
    }
    selector {
      match_labels = {
        "app.kubernetes.io/instance" = local.name
      }
    }

    template {
      metadata {
        labels = {
          "app.kubernetes.io/name"     = "coder-workspace"
          "app.kubernetes.io/instance" = local.name
        }
      }
      spec {
        security_context {
          run_as_user = 1000
          fs_group    = 1000
        }
        container {
          name              = "dev"
          image             = "docker.io/codercom/enterprise-minimal:ubuntu"
          image_pull_policy = "IfNotPresent"
          command           = ["sh", "-c", coder_agent.m.init_script]
          security_context {
            run_as_user = "1000"
          }
          env {
            name  = "CODER_AGENT_TOKEN"
            value = coder_agent.m.token
          }
          resources {
            requests = {
              cpu    = "100m"
              memory = "320Mi"
            }
            limits = {
              cpu    = "100m"
              memory = "320Mi"
            }
          }
        }
        dynamic "affinity" {
          for_each = var.kubernetes_nodepool_workspaces == "" ? [] : [var.kubernetes_nodepool_workspaces]
          content {
            node_affinity {
              required_during_scheduling_ignored_during_execution {
                node_selector_term {
                  match_expressions {
                    key      = "cloud.google.com/gke-nodepool"
                    operator = "In"
                    values   = [affinity.value]
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}
