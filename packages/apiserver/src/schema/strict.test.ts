// Book 11.2: tests for strict field validation, duplicate-key detection and pruning, on manifests of
// the kind people really apply.
import { isStatusError } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { builtinSchemas } from "./builtin.js";
import { createResolver } from "./resolver.js";
import { duplicateFieldMessage, MAX_JSON_DEPTH, parseJsonStrict, prune, unknownFieldMessage, unknownFields } from "./strict.js";
import type { Schema } from "./types.js";

const resolver = createResolver(builtinSchemas());

function rootOf(obj: { apiVersion: string; kind: string }): Schema {
  const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["", obj.apiVersion];
  const s = resolver.forKind({ group: group!, version: version!, kind: obj.kind });
  if (!s) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
  return s;
}

const MANIFESTS = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: { app: web }
  annotations: { deployment.kubernetes.io/revision: "3" }
spec:
  replicas: 3
  revisionHistoryLimit: 5
  progressDeadlineSeconds: 600
  selector:
    matchLabels: { app: web }
    matchExpressions: [{ key: tier, operator: In, values: [front] }]
  strategy:
    type: RollingUpdate
    rollingUpdate: { maxSurge: 25%, maxUnavailable: 0 }
  template:
    metadata:
      labels: { app: web, tier: front }
      annotations: { prometheus.io/scrape: "true" }
    spec:
      serviceAccountName: web
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 30
      priorityClassName: high
      schedulerName: default-scheduler
      dnsPolicy: ClusterFirst
      dnsConfig: { options: [{ name: ndots, value: "2" }], nameservers: [1.1.1.1], searches: [svc.local] }
      restartPolicy: Always
      hostNetwork: false
      nodeSelector: { kubernetes.io/os: linux }
      imagePullSecrets: [{ name: regcred }]
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        fsGroup: 2000
        seccompProfile: { type: RuntimeDefault }
        sysctls: [{ name: net.core.somaxconn, value: "1024" }]
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions: [{ key: kubernetes.io/arch, operator: In, values: [amd64, arm64] }]
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 10
              preference: { matchExpressions: [{ key: zone, operator: In, values: [a] }] }
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector: { matchLabels: { app: web } }
        podAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - topologyKey: topology.kubernetes.io/zone
              labelSelector: { matchLabels: { app: cache } }
              namespaceSelector: {}
      tolerations:
        - { key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule }
        - { key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 300 }
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: ScheduleAnyway
          labelSelector: { matchLabels: { app: web } }
      initContainers:
        - name: migrate
          image: busybox:1.36
          command: [sh, -c, "echo migrate"]
          restartPolicy: Always
      containers:
        - name: app
          image: nginx:1.27
          imagePullPolicy: IfNotPresent
          workingDir: /srv
          command: [nginx]
          args: [-g, daemon off;]
          stdin: false
          tty: false
          ports:
            - { name: http, containerPort: 8080, protocol: TCP }
            - { containerPort: 9090, hostPort: 9090, hostIP: 0.0.0.0 }
          env:
            - { name: MODE, value: prod }
            - name: POD_IP
              valueFrom: { fieldRef: { fieldPath: status.podIP } }
            - name: DB_PASSWORD
              valueFrom: { secretKeyRef: { name: db, key: password, optional: false } }
            - name: LEVEL
              valueFrom: { configMapKeyRef: { name: cfg, key: level } }
            - name: MEM
              valueFrom: { resourceFieldRef: { containerName: app, resource: limits.memory, divisor: 1Mi } }
          envFrom:
            - configMapRef: { name: cfg }
            - secretRef: { name: db }
              prefix: DB_
          resources:
            requests: { cpu: 100m, memory: 128Mi }
            limits: { cpu: 1, memory: 512Mi, ephemeral-storage: 1Gi }
          volumeMounts:
            - { name: data, mountPath: /data }
            - { name: cfg, mountPath: /etc/cfg, readOnly: true, subPath: app.conf }
          livenessProbe:
            httpGet: { path: /healthz, port: http, scheme: HTTP, httpHeaders: [{ name: X-Probe, value: "1" }] }
            initialDelaySeconds: 10
            periodSeconds: 10
            timeoutSeconds: 2
            failureThreshold: 3
          readinessProbe:
            tcpSocket: { port: 8080 }
            successThreshold: 1
          startupProbe:
            exec: { command: [cat, /tmp/ready] }
          lifecycle:
            postStart: { exec: { command: [sh, -c, "true"] } }
            preStop: { sleep: { seconds: 5 } }
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: { drop: [ALL], add: [NET_BIND_SERVICE] }
          terminationMessagePath: /dev/termination-log
          terminationMessagePolicy: FallbackToLogsOnError
        - name: grpc
          image: example/grpc:1
          readinessProbe: { grpc: { port: 9000, service: health } }
      volumes:
        - { name: data, emptyDir: { medium: Memory, sizeLimit: 64Mi } }
        - { name: host, hostPath: { path: /var/log, type: Directory } }
        - name: cfg
          configMap: { name: cfg, defaultMode: 420, items: [{ key: app.conf, path: app.conf, mode: 256 }] }
        - { name: sec, secret: { secretName: tls, optional: true } }
        - { name: claim, persistentVolumeClaim: { claimName: data, readOnly: false } }
        - { name: nfs, nfs: { server: 10.0.0.1, path: /exports } }
        - name: podinfo
          downwardAPI: { items: [{ path: labels, fieldRef: { fieldPath: metadata.labels } }] }
        - name: all
          projected:
            sources:
              - serviceAccountToken: { path: token, expirationSeconds: 3600, audience: api }
              - configMap: { name: kube-root-ca.crt, items: [{ key: ca.crt, path: ca.crt }] }
              - downwardAPI: { items: [{ path: namespace, fieldRef: { apiVersion: v1, fieldPath: metadata.namespace } }] }
        - name: scratch
          ephemeral:
            volumeClaimTemplate:
              metadata: { labels: { type: scratch } }
              spec: { accessModes: [ReadWriteOnce], resources: { requests: { storage: 1Gi } }, storageClassName: fast }
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db }
spec:
  serviceName: db
  replicas: 3
  podManagementPolicy: Parallel
  updateStrategy: { type: RollingUpdate, rollingUpdate: { partition: 0 } }
  persistentVolumeClaimRetentionPolicy: { whenDeleted: Retain, whenScaled: Delete }
  selector: { matchLabels: { app: db } }
  template:
    metadata: { labels: { app: db } }
    spec:
      containers: [{ name: db, image: postgres:16, ports: [{ containerPort: 5432, name: pg }] }]
  volumeClaimTemplates:
    - metadata: { name: data }
      spec:
        accessModes: [ReadWriteOnce]
        storageClassName: standard
        resources: { requests: { storage: 10Gi } }
---
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: agent, namespace: kube-system }
spec:
  selector: { matchLabels: { app: agent } }
  updateStrategy: { type: RollingUpdate, rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }
  template:
    metadata: { labels: { app: agent } }
    spec:
      hostPID: true
      hostNetwork: true
      tolerations: [{ operator: Exists }]
      containers:
        - name: agent
          image: agent:1
          securityContext: { privileged: true, runAsUser: 0 }
          volumeMounts: [{ name: root, mountPath: /host, mountPropagation: HostToContainer }]
      volumes: [{ name: root, hostPath: { path: / } }]
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  type: LoadBalancer
  selector: { app: web }
  ports:
    - { name: http, port: 80, targetPort: http, protocol: TCP, nodePort: 30080 }
    - { name: metrics, port: 9090, targetPort: 9090, appProtocol: http }
  sessionAffinity: ClientIP
  sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } }
  externalTrafficPolicy: Local
  ipFamilyPolicy: SingleStack
  ipFamilies: [IPv4]
status:
  loadBalancer: { ingress: [{ ip: 203.0.113.10 }] }
---
apiVersion: batch/v1
kind: CronJob
metadata: { name: backup }
spec:
  schedule: "0 3 * * *"
  timeZone: Etc/UTC
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 1
  jobTemplate:
    spec:
      backoffLimit: 2
      activeDeadlineSeconds: 3600
      ttlSecondsAfterFinished: 86400
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{ name: backup, image: backup:1, args: [--all] }]
---
apiVersion: batch/v1
kind: Job
metadata: { name: pi }
spec:
  completions: 5
  parallelism: 2
  completionMode: Indexed
  podFailurePolicy:
    rules:
      - action: FailJob
        onExitCodes: { containerName: pi, operator: In, values: [42] }
      - action: Ignore
        onPodConditions: [{ type: DisruptionTarget }]
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: pi, image: perl:5.34, command: [perl, -Mbignum=bpi, -wle, "print bpi(2000)"] }]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: web }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: web }
  minReplicas: 2
  maxReplicas: 10
  metrics:
    - type: Resource
      resource: { name: cpu, target: { type: Utilization, averageUtilization: 70 } }
    - type: Pods
      pods: { metric: { name: rps }, target: { type: AverageValue, averageValue: "100" } }
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
      policies: [{ type: Percent, value: 50, periodSeconds: 60 }]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: web }
spec:
  podSelector: { matchLabels: { app: web } }
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - namespaceSelector: { matchLabels: { team: a } }
          podSelector: { matchLabels: { role: client } }
        - ipBlock: { cidr: 10.0.0.0/8, except: [10.1.0.0/16] }
      ports: [{ protocol: TCP, port: 8080 }, { port: http }, { port: 30000, endPort: 32767 }]
  egress:
    - to: [{ podSelector: {} }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web, annotations: { nginx.ingress.kubernetes.io/rewrite-target: / } }
spec:
  ingressClassName: nginx
  tls: [{ hosts: [shop.example.com], secretName: shop-tls }]
  rules:
    - host: shop.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: { service: { name: web, port: { number: 80 } } }
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: web }
spec:
  minAvailable: 50%
  selector: { matchLabels: { app: web } }
  unhealthyPodEvictionPolicy: AlwaysAllow
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: reader }
rules:
  - apiGroups: ["", apps]
    resources: [pods, pods/log, deployments]
    verbs: [get, list, watch]
  - nonResourceURLs: [/healthz]
    verbs: [get]
aggregationRule:
  clusterRoleSelectors: [{ matchLabels: { rbac.example.com/aggregate: "true" } }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: read, namespace: shop }
subjects:
  - { kind: ServiceAccount, name: web, namespace: shop }
  - { kind: User, name: jane, apiGroup: rbac.authorization.k8s.io }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: cfg }
data: { level: info }
binaryData: { blob: aGVsbG8= }
immutable: true
---
apiVersion: v1
kind: Secret
metadata: { name: db }
type: Opaque
stringData: { password: hunter2 }
data: { user: YWRtaW4= }
---
apiVersion: v1
kind: PersistentVolume
metadata: { name: pv1 }
spec:
  capacity: { storage: 5Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: manual
  local: { path: /mnt/disk1 }
  nodeAffinity:
    required:
      nodeSelectorTerms: [{ matchExpressions: [{ key: kubernetes.io/hostname, operator: In, values: [node1] }] }]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: fast, annotations: { storageclass.kubernetes.io/is-default-class: "true" } }
provisioner: rancher.io/local-path
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
allowVolumeExpansion: true
parameters: { type: ssd }
---
apiVersion: v1
kind: Node
metadata: { name: node1, labels: { kubernetes.io/hostname: node1 } }
spec:
  podCIDR: 10.244.0.0/24
  taints: [{ key: dedicated, value: gpu, effect: NoSchedule }]
status:
  capacity: { cpu: "4", memory: 16Gi, pods: "110" }
  allocatable: { cpu: 3800m, memory: 15Gi, pods: "110" }
  conditions:
    - type: Ready
      status: "True"
      reason: KubeletReady
      message: kubelet is posting ready status
      lastHeartbeatTime: "2024-01-01T00:00:00Z"
      lastTransitionTime: "2024-01-01T00:00:00Z"
  addresses: [{ type: InternalIP, address: 10.0.0.5 }, { type: Hostname, address: node1 }]
  daemonEndpoints: { kubeletEndpoint: { Port: 10250 } }
  nodeInfo:
    machineID: m
    systemUUID: s
    bootID: b
    kernelVersion: 6.1.0
    osImage: Debian
    containerRuntimeVersion: containerd://1.7.0
    kubeletVersion: v1.30.0
    kubeProxyVersion: v1.30.0
    operatingSystem: linux
    architecture: amd64
  images: [{ names: [nginx:1.27], sizeBytes: 70000000 }]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  ownerReferences:
    - { apiVersion: apps/v1, kind: ReplicaSet, name: web-abc, uid: 1234, controller: true, blockOwnerDeletion: true }
  finalizers: [example.com/cleanup]
  managedFields:
    - manager: kubectl
      operation: Apply
      apiVersion: v1
      time: "2024-01-01T00:00:00Z"
      fieldsType: FieldsV1
      fieldsV1: { f:metadata: { f:labels: { f:app: {} } } }
spec:
  nodeName: node1
  containers: [{ name: c, image: nginx }]
status:
  phase: Running
  qosClass: Burstable
  hostIP: 10.0.0.5
  podIP: 10.244.0.7
  podIPs: [{ ip: 10.244.0.7 }]
  startTime: "2024-01-01T00:00:00Z"
  conditions: [{ type: Ready, status: "True", lastTransitionTime: "2024-01-01T00:00:00Z" }]
  containerStatuses:
    - name: c
      ready: true
      started: true
      restartCount: 1
      image: nginx:1.27
      imageID: docker.io/library/nginx@sha256:abc
      containerID: containerd://abc
      state: { running: { startedAt: "2024-01-01T00:00:01Z" } }
      lastState: { terminated: { exitCode: 137, reason: OOMKilled, startedAt: "2024-01-01T00:00:00Z", finishedAt: "2024-01-01T00:00:01Z" } }
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: crontabs.stable.example.com }
spec:
  group: stable.example.com
  scope: Namespaced
  names: { plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct], categories: [all] }
  versions:
    - name: v1
      served: true
      storage: true
      subresources:
        status: {}
        scale: { specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas, labelSelectorPath: .status.selector }
      additionalPrinterColumns:
        - { name: Spec, type: string, jsonPath: .spec.cronSpec, description: the schedule, priority: 0 }
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [cronSpec]
              x-kubernetes-validations: [{ rule: "self.replicas >= 0", message: must not be negative }]
              properties:
                cronSpec: { type: string, pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$' }
                replicas: { type: integer, minimum: 0, default: 1 }
                tags: { type: array, items: { type: string }, x-kubernetes-list-type: set }
                port: { x-kubernetes-int-or-string: true, anyOf: [{ type: integer }, { type: string }] }
                extra: { type: object, x-kubernetes-preserve-unknown-fields: true }
                labels: { type: object, additionalProperties: { type: string } }
            status:
              type: object
              properties:
                replicas: { type: integer }
                selector: { type: string }
`;

describe("unknownFields", () => {
  const docs = parseAllDocuments(MANIFESTS).map((d) => d.toJS() as { apiVersion: string; kind: string; metadata: { name: string } });

  it.each(docs.map((d) => [`${d.kind} ${d.metadata.name}`, d] as const))("finds nothing unknown in a real %s", (_name, doc) => {
    expect(unknownFields(doc, rootOf(doc), resolver)).toEqual([]);
  });

  it("reports unknown fields with their full paths, in document order", () => {
    const dep = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", labelz: { a: "b" } },
      spec: {
        replicas: 1,
        foo: true,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            containers: [
              { name: "a", image: "x" },
              { name: "b", image: "y", ports: [{ containerPort: 80, bogus: 1 }], resources: { limit: { cpu: "1" } } },
            ],
          },
        },
      },
    };
    expect(unknownFields(dep, rootOf(dep), resolver)).toEqual([
      "metadata.labelz",
      "spec.foo",
      "spec.template.spec.containers[1].ports[0].bogus",
      "spec.template.spec.containers[1].resources.limit",
    ]);
    expect(unknownFieldMessage("spec.foo")).toBe('unknown field "spec.foo"');
  });

  it("accepts any keys in maps and in preserve-unknown-fields nodes", () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", labels: { anything: "goes" }, managedFields: [{ fieldsV1: { "f:spec": { "f:x": {} } } }] },
      spec: { containers: [{ name: "c", resources: { limits: { "example.com/gpu": 1 } } }], nodeSelector: { any: "key" } },
    };
    expect(unknownFields(pod, rootOf(pod), resolver)).toEqual([]);
  });

  it("does not look inside int-or-string or scalar values", () => {
    const svc = { apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { ports: [{ port: 80, targetPort: { weird: 1 } }] } };
    expect(unknownFields(svc, rootOf(svc), resolver)).toEqual([]);
  });

  it("always allows apiVersion, kind and metadata at the top of a custom resource, checking metadata", () => {
    const crSchema: Schema = { type: "object", properties: { spec: { type: "object", properties: { size: { type: "integer" } } } } };
    const cr = { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w", nmae: "typo" }, spec: { size: 1, colour: "red" }, extra: 1 };
    expect(unknownFields(cr, crSchema, resolver)).toEqual(["metadata.nmae", "spec.colour", "extra"]);
  });

  it("treats embedded resources like the top of an object", () => {
    const schema: Schema = {
      type: "object",
      properties: {
        template: {
          type: "object",
          "x-kubernetes-embedded-resource": true,
          properties: { spec: { type: "object", properties: { a: { type: "string" } } } },
        },
      },
    };
    const obj = { template: { apiVersion: "v1", kind: "Pod", metadata: { name: "x" }, spec: { a: "1", b: 2 }, c: 3 } };
    expect(unknownFields(obj, schema, resolver)).toEqual(["template.spec.b", "template.c"]);
  });

  it("treats an object type with no declared fields as allowing none", () => {
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "x" },
      spec: { versions: [{ name: "v1", subresources: { status: { enabled: true } } }] },
    };
    expect(unknownFields(crd, rootOf(crd), resolver)).toEqual(["spec.versions[0].subresources.status.enabled"]);
  });

  it("finds unknown fields deep inside a CRD's recursive openAPIV3Schema", () => {
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "x" },
      spec: {
        versions: [
          { name: "v1", schema: { openAPIV3Schema: { type: "object", properties: { spec: { type: "object", propertys: {} } } } } },
        ],
      },
    };
    expect(unknownFields(crd, rootOf(crd), resolver)).toEqual([
      "spec.versions[0].schema.openAPIV3Schema.properties.spec.propertys",
    ]);
  });
});

describe("prune", () => {
  it("drops unknown fields in place, keeps known ones and preserved subtrees", () => {
    const schema: Schema = {
      type: "object",
      properties: {
        spec: {
          type: "object",
          properties: {
            size: { type: "integer" },
            items: { type: "array", items: { type: "object", properties: { name: { type: "string" } } } },
            free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
          },
        },
      },
    };
    const cr = {
      apiVersion: "example.com/v1",
      kind: "Widget",
      metadata: { name: "w", bogus: 1 },
      spec: { size: 2, colour: "red", items: [{ name: "a", extra: true }], free: { anything: { goes: 1 } } },
      status: { x: 1 },
    };
    const removed = prune(cr, schema, resolver);
    expect(removed).toEqual(["metadata.bogus", "spec.colour", "spec.items[0].extra", "status"]);
    expect(cr).toEqual({
      apiVersion: "example.com/v1",
      kind: "Widget",
      metadata: { name: "w" },
      spec: { size: 2, items: [{ name: "a" }], free: { anything: { goes: 1 } } },
    });
  });

  it("checks metadata against ObjectMeta even when a CRD schema declares it a bare object", () => {
    const schema: Schema = { type: "object", properties: { metadata: { type: "object" }, apiVersion: { type: "string" } } };
    const cr = { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w", labels: { a: "b" }, nope: 1 } };
    expect(prune(cr, schema, resolver)).toEqual(["metadata.nope"]);
    expect(cr.metadata).toEqual({ name: "w", labels: { a: "b" } });
  });

  it("keeps everything when the root preserves unknown fields", () => {
    const cr = { apiVersion: "example.com/v1", kind: "Any", metadata: { name: "a" }, whatever: { x: [1, 2] } };
    expect(prune(cr, { type: "object", "x-kubernetes-preserve-unknown-fields": true }, resolver)).toEqual([]);
    expect(cr.whatever).toEqual({ x: [1, 2] });
  });
});

describe("parseJsonStrict", () => {
  it("parses like JSON.parse", () => {
    const text = JSON.stringify({ a: [1, -2.5e3, true, false, null, "x\u00e9\n\"\\/"], b: { c: {} }, d: [], e: "\ud83d\ude00" });
    expect(parseJsonStrict(text)).toEqual({ value: JSON.parse(text), duplicateFields: [] });
    expect(parseJsonStrict(' \n\t"just a string" ').value).toBe("just a string");
    expect(parseJsonStrict('"\\u00e9\\ud83d\\ude00"').value).toBe("é😀");
  });

  it("lists duplicate keys with their paths and keeps the last value", () => {
    const { value, duplicateFields } = parseJsonStrict(
      '{"metadata":{"name":"a","name":"b"},"spec":{"containers":[{"name":"c","image":"x","image":"y"}]},"spec2":1,"spec2":2}',
    );
    expect(duplicateFields).toEqual(["metadata.name", "spec.containers[0].image", "spec2"]);
    expect(value).toEqual({ metadata: { name: "b" }, spec: { containers: [{ name: "c", image: "y" }] }, spec2: 2 });
    expect(duplicateFieldMessage("metadata.name")).toBe('duplicate field "metadata.name"');
  });

  it("keeps __proto__ as a plain key", () => {
    const { value } = parseJsonStrict('{"__proto__":{"polluted":true}}');
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect((value as Record<string, unknown>)["__proto__"]).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ["", "unexpected end of JSON input"],
    ["{", "unexpected end of JSON input"],
    ['{"a":1,}', "looking for beginning of object key string"],
    ['{"a" 1}', "after object key"],
    ["[1 2]", "after array element"],
    ["{} x", "after top-level value"],
    ["{'a':1}", "looking for beginning of object key string"],
    ['"tab\there"', "control character"],
    ['"\\x"', "invalid escape"],
    ["tru", "expected true"],
    ["01", "after top-level value"],
    ["-", "invalid number"],
  ])("rejects %j with a 400 saying %s", (text, message) => {
    let err: unknown;
    try {
      parseJsonStrict(text);
    } catch (e) {
      err = e;
    }
    expect(isStatusError(err)).toBe(true);
    if (!isStatusError(err)) return;
    expect(err.status.code).toBe(400);
    expect(err.status.reason).toBe("BadRequest");
    expect(err.status.message).toContain("json parse error");
    expect(err.status.message).toContain(message);
  });

  it("says where the error is", () => {
    expect(() => parseJsonStrict('{\n  "a": 1,\n  "b": ?\n}')).toThrow(/line 3, column 8/);
  });

  it("refuses absurd nesting instead of overflowing the stack", () => {
    const ok = "[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH);
    expect(parseJsonStrict(ok).duplicateFields).toEqual([]);
    const deep = "[".repeat(MAX_JSON_DEPTH + 2) + "]".repeat(MAX_JSON_DEPTH + 2);
    expect(() => parseJsonStrict(deep)).toThrow(/nesting deeper/);
  });
});
