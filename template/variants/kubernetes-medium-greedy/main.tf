# kubernetes-medium-greedy: kubernetes-medium plus a greedy agent that reports 16 oversized metadata items every second.

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

resource "coder_agent" "main" {
  os   = "linux"
  arch = data.coder_provisioner.me.arch

  # Greedy on purpose: 16 items of ~4 KiB (base64 of 3072 random bytes) every second. coderd truncates
  # values over 2048 bytes and writes and publishes every batch, which is the load this variant adds.
  dynamic "metadata" {
    for_each = range(1, 17)
    content {
      key          = format("%02d_meta", metadata.value)
      display_name = format("Meta %02d", metadata.value)
      script       = "dd if=/dev/urandom bs=3072 count=1 status=none | base64"
      interval     = 1
      timeout      = 10
    }
  }
}

resource "kubernetes_pod" "main" {
  count = data.coder_workspace.me.start_count

  metadata {
    name      = local.name
    namespace = var.namespace
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
      image_pull_policy = "Always"
      command           = ["sh", "-c", coder_agent.main.init_script]
      security_context {
        run_as_user = "1000"
      }
      env {
        name  = "CODER_AGENT_TOKEN"
        value = coder_agent.main.token
      }
      # Requests equal limits: Guaranteed QoS, so workspaces measure the same on every node.
      resources {
        requests = {
          cpu    = "2"
          memory = "2Gi"
        }
        limits = {
          cpu    = "2"
          memory = "2Gi"
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
