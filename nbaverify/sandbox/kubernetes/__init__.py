"""The sandbox's Kubernetes: a real control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, built from the pinned upstream Go modules by scripts/kubernetes/build), its nodes
and pods simulated by KWOK, the platform's manifests applied through the real API."""
