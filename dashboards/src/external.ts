// The one list of panels that read exporters (or runtimes) absent from the test environment, and why.
// The Prometheus check only verifies their queries parse; every other panel must return series.

/** Panel title → the exporter it needs. */
export const EXTERNAL_PANELS: Readonly<Record<string, string>> = {
  "coderd container CPU vs limits": "cAdvisor (kubelet) and kube-state-metrics run only in a Kubernetes cluster",
  "coderd container memory vs limits": "cAdvisor (kubelet) and kube-state-metrics run only in a Kubernetes cluster",
  "coderd restarts": "kube-state-metrics runs only in a Kubernetes cluster",
  // A Node stand-in exporting a metric named go_goroutines would be a fake Go runtime metric; we leave it to real coderd.
  "coderd goroutines": "go_goroutines comes from Go's runtime collector in coderd; the simulator is a Node process and does not pretend to have goroutines",
  "DB connections by state": "postgres_exporter scrapes Coder's real Postgres; the simulator has no database",
  "DB transactions/s": "postgres_exporter scrapes Coder's real Postgres; the simulator has no database",
  "DB rows/s": "postgres_exporter scrapes Coder's real Postgres; the simulator has no database",
  "Provisioner pods running": "kube-state-metrics runs only in a Kubernetes cluster",
  "Runner pod CPU": "cAdvisor (kubelet) runs only in a Kubernetes cluster",
};
