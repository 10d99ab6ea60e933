// Book 1.6.1: request bodies captured from a real kubectl (v1.33) talking to a throwaway recording server,
// with the JSON `kubectl ... --dry-run=client -o json` printed for the same command. The decoder must
// turn each body into that JSON (kubectl 1.33 still prints `creationTimestamp: null`, which newer
// Kubernetes leaves out: `omitzero`; the tests drop it before comparing).

export interface KubectlCapture {
  /** The kubectl command line (after `kubectl`). */
  command: string;
  /** The request it made. */
  request: string;
  /** The request body, base64. */
  body: string;
  /** What `--dry-run=client -o json` printed. */
  json: unknown;
}

export const KUBECTL_CAPTURES: Readonly<Record<string, KubectlCapture>> = {
  autoscale: {
    command: "autoscale deployment web --min=2 --max=5 --cpu-percent=80",
    request: "POST /apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
    body: "azhzAAopCg5hdXRvc2NhbGluZy92MhIXSG9yaXpvbnRhbFBvZEF1dG9zY2FsZXISYQoTCgN3ZWISABoAIgAqADIAOABCABJEChoKCkRlcGxveW1lbnQSA3dlYhoHYXBwcy92MRACGAUiIgoIUmVzb3VyY2UiFgoDY3B1Eg8KC1V0aWxpemF0aW9uIFAaBBgAIAAaACIA",
    json: {"kind":"HorizontalPodAutoscaler","apiVersion":"autoscaling/v2","metadata":{"name":"web","creationTimestamp":null},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"web","apiVersion":"apps/v1"},"minReplicas":2,"maxReplicas":5,"metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":80}}}]},"status":{"desiredReplicas":0,"currentMetrics":null}},
  },
  clusterrole: {
    command: "create clusterrole cr1 --verb=get --non-resource-url=/logs/*",
    request: "POST /apis/rbac.authorization.k8s.io/v1/clusterroles",
    body: "azhzAAorChxyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvL3YxEgtDbHVzdGVyUm9sZRIlChMKA2NyMRIAGgAiACoAMgA4AEIAEg4KA2dldCoHL2xvZ3MvKhoAIgA=",
    json: {"kind":"ClusterRole","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"cr1","creationTimestamp":null},"rules":[{"verbs":["get"],"nonResourceURLs":["/logs/*"]}]},
  },
  clusterrolebinding: {
    command: "create clusterrolebinding crb1 --clusterrole=cr1 --user=bob",
    request: "POST /apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    body: "azhzAAoyChxyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvL3YxEhJDbHVzdGVyUm9sZUJpbmRpbmcSbwoUCgRjcmIxEgAaACIAKgAyADgAQgASKAoEVXNlchIZcmJhYy5hdXRob3JpemF0aW9uLms4cy5pbxoDYm9iIgAaLQoZcmJhYy5hdXRob3JpemF0aW9uLms4cy5pbxILQ2x1c3RlclJvbGUaA2NyMRoAIgA=",
    json: {"kind":"ClusterRoleBinding","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"crb1","creationTimestamp":null},"subjects":[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"bob"}],"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cr1"}},
  },
  configmap: {
    command: "create configmap cm1 --from-literal=a=1 --from-literal=b=two",
    request: "POST /api/v1/namespaces/default/configmaps",
    body: "azhzAAoPCgJ2MRIJQ29uZmlnTWFwEicKEwoDY20xEgAaACIAKgAyADgAQgASBgoBYRIBMRIICgFiEgN0d28aACIA",
    json: {"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm1","creationTimestamp":null},"data":{"a":"1","b":"two"}},
  },
  configmapfile: {
    command: "create configmap cm2 --from-file=a.txt --from-file=b.bin",
    request: "POST /api/v1/namespaces/default/configmaps",
    body: "azhzAAoPCgJ2MRIJQ29uZmlnTWFwEjsKEwoDY20yEgAaACIAKgAyADgAQgASFQoFYS50eHQSDGhlbGxvCndvcmxkChoNCgViLmJpbhIEAAH+/xoAIgA=",
    json: {"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm2","creationTimestamp":null},"data":{"a.txt":"hello\nworld\n"},"binaryData":{"b.bin":"AAH+/w=="}},
  },
  cronjob: {
    command: "create cronjob cj1 --image=busybox --schedule=\"*/5 * * * *\" -- date",
    request: "POST /apis/batch/v1/namespaces/default/cronjobs",
    body: "azhzAAoTCghiYXRjaC92MRIHQ3JvbkpvYhKnAQoTCgNjajESABoAIgAqADIAOABCABKNAQoLKi81ICogKiAqICoaACp8ChMKA2NqMRIAGgAiACoAMgA4AEIAEmUyYwoQCgASABoAIgAqADIAOABCABJPEigKA2NqMRIHYnVzeWJveBoEZGF0ZSoAQgBqAHIAgAEAiAEAkAEAogEAGglPbkZhaWx1cmUyAEIASgBSAFgAYABoAIIBAIoBAJoBAMIBABoAGgAiAA==",
    json: {"kind":"CronJob","apiVersion":"batch/v1","metadata":{"name":"cj1","creationTimestamp":null},"spec":{"schedule":"*/5 * * * *","jobTemplate":{"metadata":{"name":"cj1","creationTimestamp":null},"spec":{"template":{"metadata":{"creationTimestamp":null},"spec":{"containers":[{"name":"cj1","image":"busybox","command":["date"],"resources":{}}],"restartPolicy":"OnFailure"}}}}},"status":{}},
  },
  deployment: {
    command: "create deployment web --image=nginx:1.27 --replicas=3 --port=80",
    request: "POST /apis/apps/v1/namespaces/default/deployments",
    body: "azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50Er0BCh8KA3dlYhIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViEosBCAMSDAoKCgNhcHASA3dlYhpxChwKABIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViElESMwoFbmdpbngSCm5naW54OjEuMjcqADIKCgAQABhQIgAqAEIAagByAIABAIgBAJABAKIBABoAMgBCAEoAUgBYAGAAaACCAQCKAQCaAQDCAQAiAgoAKAA4ABoMCAAQABgAIAAoADgAGgAiAA==",
    json: {"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web","creationTimestamp":null,"labels":{"app":"web"}},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"creationTimestamp":null,"labels":{"app":"web"}},"spec":{"containers":[{"name":"nginx","image":"nginx:1.27","ports":[{"containerPort":80}],"resources":{}}]}},"strategy":{}},"status":{}},
  },
  dockersecret: {
    command: "create secret docker-registry regcred --docker-server=r.io --docker-username=u --docker-password=p --docker-email=e@x.io",
    request: "POST /api/v1/namespaces/default/secrets",
    body: "azhzAAoMCgJ2MRIGU2VjcmV0EqEBChcKB3JlZ2NyZWQSABoAIgAqADIAOABCABJmChEuZG9ja2VyY29uZmlnanNvbhJReyJhdXRocyI6eyJyLmlvIjp7InVzZXJuYW1lIjoidSIsInBhc3N3b3JkIjoicCIsImVtYWlsIjoiZUB4LmlvIiwiYXV0aCI6ImRUcHcifX19Gh5rdWJlcm5ldGVzLmlvL2RvY2tlcmNvbmZpZ2pzb24aACIA",
    json: {"kind":"Secret","apiVersion":"v1","metadata":{"name":"regcred","creationTimestamp":null},"data":{".dockerconfigjson":"eyJhdXRocyI6eyJyLmlvIjp7InVzZXJuYW1lIjoidSIsInBhc3N3b3JkIjoicCIsImVtYWlsIjoiZUB4LmlvIiwiYXV0aCI6ImRUcHcifX19"},"type":"kubernetes.io/dockerconfigjson"},
  },
  externalname: {
    command: "create service externalname ext1 --external-name=example.com",
    request: "POST /api/v1/namespaces/default/services",
    body: "azhzAAoNCgJ2MRIHU2VydmljZRJdCiEKBGV4dDESABoAIgAqADIAOABCAFoLCgNhcHASBGV4dDESNBILCgNhcHASBGV4dDEaACIMRXh0ZXJuYWxOYW1lOgBCAFILZXhhbXBsZS5jb21aAGAAaAAaAgoAGgAiAA==",
    json: {"kind":"Service","apiVersion":"v1","metadata":{"name":"ext1","creationTimestamp":null,"labels":{"app":"ext1"}},"spec":{"selector":{"app":"ext1"},"type":"ExternalName","externalName":"example.com"},"status":{"loadBalancer":{}}},
  },
  ingress: {
    command: "create ingress ing1 --rule=\"foo.com/bar*=svc1:8080,tls=my-cert\" --class=nginx",
    request: "POST /apis/networking.k8s.io/v1/namespaces/default/ingresses",
    body: "azhzAAofChRuZXR3b3JraW5nLms4cy5pby92MRIHSW5ncmVzcxJnChQKBGluZzESABoAIgAqADIAOABCABJLEhIKB2Zvby5jb20SB215LWNlcnQaLgoHZm9vLmNvbRIjCiEKHwoEL2JhchIPIg0KBHN2YzESBQoAEJA/GgZQcmVmaXgiBW5naW54GgIKABoAIgA=",
    json: {"kind":"Ingress","apiVersion":"networking.k8s.io/v1","metadata":{"name":"ing1","creationTimestamp":null},"spec":{"ingressClassName":"nginx","tls":[{"hosts":["foo.com"],"secretName":"my-cert"}],"rules":[{"host":"foo.com","http":{"paths":[{"path":"/bar","pathType":"Prefix","backend":{"service":{"name":"svc1","port":{"number":8080}}}}]}}]},"status":{"loadBalancer":{}}},
  },
  job: {
    command: "create job j1 --image=busybox -- echo hi",
    request: "POST /apis/batch/v1/namespaces/default/jobs",
    body: "azhzAAoPCghiYXRjaC92MRIDSm9iEoQBChIKAmoxEgAaACIAKgAyADgAQgASZDJiChAKABIAGgAiACoAMgA4AEIAEk4SKwoCajESB2J1c3lib3gaBGVjaG8aAmhpKgBCAGoAcgCAAQCIAQCQAQCiAQAaBU5ldmVyMgBCAEoAUgBYAGAAaACCAQCKAQCaAQDCAQAaCCAAKAAwADoAGgAiAA==",
    json: {"kind":"Job","apiVersion":"batch/v1","metadata":{"name":"j1","creationTimestamp":null},"spec":{"template":{"metadata":{"creationTimestamp":null},"spec":{"containers":[{"name":"j1","image":"busybox","command":["echo","hi"],"resources":{}}],"restartPolicy":"Never"}}},"status":{}},
  },
  namespace: {
    command: "create namespace x",
    request: "POST /api/v1/namespaces",
    body: "azhzAAoPCgJ2MRIJTmFtZXNwYWNlEhkKEQoBeBIAGgAiACoAMgA4AEIAEgAaAgoAGgAiAA==",
    json: {"kind":"Namespace","apiVersion":"v1","metadata":{"name":"x","creationTimestamp":null},"spec":{},"status":{}},
  },
  pdb: {
    command: "create poddisruptionbudget pdb1 --selector=app=web --min-available=50%",
    request: "POST /apis/policy/v1/namespaces/default/poddisruptionbudgets",
    body: "azhzAAogCglwb2xpY3kvdjESE1BvZERpc3J1cHRpb25CdWRnZXQSPQoUCgRwZGIxEgAaACIAKgAyADgAQgASGQoJCAEQABoDNTAlEgwKCgoDYXBwEgN3ZWIaCggAGAAgACgAMAAaACIA",
    json: {"kind":"PodDisruptionBudget","apiVersion":"policy/v1","metadata":{"name":"pdb1","creationTimestamp":null},"spec":{"minAvailable":"50%","selector":{"matchLabels":{"app":"web"}}},"status":{"disruptionsAllowed":0,"currentHealthy":0,"desiredHealthy":0,"expectedPods":0}},
  },
  pdbmax: {
    command: "create poddisruptionbudget pdb2 --selector=app=web --max-unavailable=1",
    request: "POST /apis/policy/v1/namespaces/default/poddisruptionbudgets",
    body: "azhzAAogCglwb2xpY3kvdjESE1BvZERpc3J1cHRpb25CdWRnZXQSOgoUCgRwZGIyEgAaACIAKgAyADgAQgASFhIMCgoKA2FwcBIDd2ViGgYIABABGgAaCggAGAAgACgAMAAaACIA",
    json: {"kind":"PodDisruptionBudget","apiVersion":"policy/v1","metadata":{"name":"pdb2","creationTimestamp":null},"spec":{"selector":{"matchLabels":{"app":"web"}},"maxUnavailable":1},"status":{"disruptionsAllowed":0,"currentHealthy":0,"desiredHealthy":0,"expectedPods":0}},
  },
  priorityclass: {
    command: "create priorityclass pc1 --value=1000 --description=\"high prio\" --preemption-policy=Never",
    request: "POST /apis/scheduling.k8s.io/v1/priorityclasses",
    body: "azhzAAolChRzY2hlZHVsaW5nLms4cy5pby92MRINUHJpb3JpdHlDbGFzcxIsChMKA3BjMRIAGgAiACoAMgA4AEIAEOgHGAAiCWhpZ2ggcHJpbyoFTmV2ZXIaACIA",
    json: {"kind":"PriorityClass","apiVersion":"scheduling.k8s.io/v1","metadata":{"name":"pc1","creationTimestamp":null},"value":1000,"description":"high prio","preemptionPolicy":"Never"},
  },
  quota: {
    command: "create quota q1 --hard=cpu=1,memory=1G,pods=2,services=3 --scopes=BestEffort",
    request: "POST /api/v1/namespaces/default/resourcequotas",
    body: "azhzAAoTCgJ2MRINUmVzb3VyY2VRdW90YRJeChIKAnExEgAaACIAKgAyADgAQgASRgoKCgNjcHUSAwoBMQoOCgZtZW1vcnkSBAoCMUcKCwoEcG9kcxIDCgEyCg8KCHNlcnZpY2VzEgMKATMSCkJlc3RFZmZvcnQaABoAIgA=",
    json: {"kind":"ResourceQuota","apiVersion":"v1","metadata":{"name":"q1","creationTimestamp":null},"spec":{"hard":{"cpu":"1","memory":"1G","pods":"2","services":"3"},"scopes":["BestEffort"]},"status":{}},
  },
  role: {
    command: "create role r1 --verb=get,list --resource=pods,deployments.apps --resource-name=a",
    request: "POST /apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
    body: "azhzAAokChxyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvL3YxEgRSb2xlEk8KEgoCcjESABoAIgAqADIAOABCABIWCgNnZXQKBGxpc3QSABoEcG9kcyIBYRIhCgNnZXQKBGxpc3QSBGFwcHMaC2RlcGxveW1lbnRzIgFhGgAiAA==",
    json: {"kind":"Role","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"r1","creationTimestamp":null},"rules":[{"verbs":["get","list"],"apiGroups":[""],"resources":["pods"],"resourceNames":["a"]},{"verbs":["get","list"],"apiGroups":["apps"],"resources":["deployments"],"resourceNames":["a"]}]},
  },
  rolebinding: {
    command: "create rolebinding rb1 --role=r1 --user=alice --serviceaccount=default:sa1 --group=devs",
    request: "POST /apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
    body: "azhzAAorChxyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvL3YxEgtSb2xlQmluZGluZxK2AQoTCgNyYjESABoAIgAqADIAOABCABIqCgRVc2VyEhlyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvGgVhbGljZSIAEioKBUdyb3VwEhlyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvGgRkZXZzIgASIAoOU2VydmljZUFjY291bnQSABoDc2ExIgdkZWZhdWx0GiUKGXJiYWMuYXV0aG9yaXphdGlvbi5rOHMuaW8SBFJvbGUaAnIxGgAiAA==",
    json: {"kind":"RoleBinding","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"rb1","creationTimestamp":null},"subjects":[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"alice"},{"kind":"Group","apiGroup":"rbac.authorization.k8s.io","name":"devs"},{"kind":"ServiceAccount","name":"sa1","namespace":"default"}],"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"r1"}},
  },
  secret: {
    command: "create secret generic s1 --from-literal=user=admin --from-literal=pass=p@ss w0rd",
    request: "POST /api/v1/namespaces/default/secrets",
    body: "azhzAAoMCgJ2MRIGU2VjcmV0EjgKEgoCczESABoAIgAqADIAOABCABIRCgRwYXNzEglwQHNzIHcwcmQSDQoEdXNlchIFYWRtaW4aABoAIgA=",
    json: {"kind":"Secret","apiVersion":"v1","metadata":{"name":"s1","creationTimestamp":null},"data":{"pass":"cEBzcyB3MHJk","user":"YWRtaW4="}},
  },
  service: {
    command: "create service clusterip svc1 --tcp=80:8080 --tcp=443:8443",
    request: "POST /api/v1/namespaces/default/services",
    body: "azhzAAoNCgJ2MRIHU2VydmljZRKLAQohCgRzdmMxEgAaACIAKgAyADgAQgBaCwoDYXBwEgRzdmMxEmIKGwoHODAtODA4MBIDVENQGFAiBwgAEJA/GgAoAAodCgg0NDMtODQ0MxIDVENQGLsDIgcIABD7QRoAKAASCwoDYXBwEgRzdmMxGgAiCUNsdXN0ZXJJUDoAQgBSAFoAYABoABoCCgAaACIA",
    json: {"kind":"Service","apiVersion":"v1","metadata":{"name":"svc1","creationTimestamp":null,"labels":{"app":"svc1"}},"spec":{"ports":[{"name":"80-8080","protocol":"TCP","port":80,"targetPort":8080},{"name":"443-8443","protocol":"TCP","port":443,"targetPort":8443}],"selector":{"app":"svc1"},"type":"ClusterIP"},"status":{"loadBalancer":{}}},
  },
  serviceaccount: {
    command: "create serviceaccount sa1",
    request: "POST /api/v1/namespaces/default/serviceaccounts",
    body: "azhzAAoUCgJ2MRIOU2VydmljZUFjY291bnQSFQoTCgNzYTESABoAIgAqADIAOABCABoAIgA=",
    json: {"kind":"ServiceAccount","apiVersion":"v1","metadata":{"name":"sa1","creationTimestamp":null}},
  },
  servicenodeport: {
    command: "create service nodeport np1 --tcp=80:8080 --node-port=30080",
    request: "POST /api/v1/namespaces/default/services",
    body: "azhzAAoNCgJ2MRIHU2VydmljZRJqCh8KA25wMRIAGgAiACoAMgA4AEIAWgoKA2FwcBIDbnAxEkMKHQoHODAtODA4MBIDVENQGFAiBwgAEJA/GgAogOsBEgoKA2FwcBIDbnAxGgAiCE5vZGVQb3J0OgBCAFIAWgBgAGgAGgIKABoAIgA=",
    json: {"kind":"Service","apiVersion":"v1","metadata":{"name":"np1","creationTimestamp":null,"labels":{"app":"np1"}},"spec":{"ports":[{"name":"80-8080","protocol":"TCP","port":80,"targetPort":8080,"nodePort":30080}],"selector":{"app":"np1"},"type":"NodePort"},"status":{"loadBalancer":{}}},
  },
};

/** Bodies of kinds kubectl sends as protobuf that our schemas do not describe yet. */
export const KUBECTL_AUTH_CAPTURES: Readonly<Record<string, { command: string; request: string; body: string }>> = {
  selfsubjectaccessreviews: {
    command: "auth can-i get pods",
    request: "POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    body: "azhzAAoyChdhdXRob3JpemF0aW9uLms4cy5pby92MRIXU2VsZlN1YmplY3RBY2Nlc3NSZXZpZXcSPAoQCgASABoAIgAqADIAOABCABIeChwKB2RlZmF1bHQSA2dldBoAIgAqBHBvZHMyADoAGggIABIAGgAgABoAIgA=",
  },
  selfsubjectreviews: {
    command: "auth whoami",
    request: "POST /apis/authentication.k8s.io/v1/selfsubjectreviews",
    body: "azhzAAotChhhdXRoZW50aWNhdGlvbi5rOHMuaW8vdjESEVNlbGZTdWJqZWN0UmV2aWV3EhoKEAoAEgAaACIAKgAyADgAQgASBgoECgASABoAIgA=",
  },
  token: {
    command: "create token sa1",
    request: "POST /api/v1/namespaces/default/serviceaccounts/sa1/token",
    body: "azhzAAooChhhdXRoZW50aWNhdGlvbi5rOHMuaW8vdjESDFRva2VuUmVxdWVzdBIaChAKABIAGgAiACoAMgA4AEIAEgAaBAoAEgAaACIA",
  },
};
