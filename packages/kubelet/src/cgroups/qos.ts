// Book 4.5: the kubelet's view of pod QoS classes: which class a pod is in decides which cgroup
// (kubepods, kubepods/burstable or kubepods/besteffort) its pod cgroup is created under.
export { computePodQOS, getPodQOS, type PodQOSClass } from "@corekube/api";
