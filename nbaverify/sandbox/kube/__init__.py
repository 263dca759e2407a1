"""A Kubernetes API server TEST DOUBLE for the sandbox (no cluster can run on this machine).

It serves the platform's reference manifests, as the sandbox deployed them, through the real
Kubernetes REST paths the official client calls (list and get, JSON), with the status a healthy
cluster would give them: nodes Ready, every Deployment available, a Running pod per replica, the
Secrets the manifests reference. Status faults (a crash-looping pod, a NotReady node...) are read
from the sandbox's control file, like the reference API's faults. It is a test double: it runs no
pod and changes nothing, but for the NetworkPolicy enforcement probe's throwaway pods, which it
"runs" by deciding, from the deployed NetworkPolicies, what an enforcing CNI would let through.
"""
