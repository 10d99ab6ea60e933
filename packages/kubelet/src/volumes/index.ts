// Book 3.4.2 and 7.1-7.3: the kubelet's volume manager and its plugins (emptyDir, hostPath, configMap,
// secret, downwardAPI, projected), the atomic writer, and the mounts handed to the runtime.
export {
  VolumeError,
  isVolumeError,
  PLUGIN_DIRS,
  type VolumeErrorReason,
  type VolumeEvent,
  type VolumePlugin,
  type Volume,
  type VolumeMount,
  type HostPathType,
  type KeyToPath,
  type ConfigMap,
  type Secret,
  type TokenRequestSpec,
  type TokenRequestStatus,
} from "./types.js";
export { VolumeManager, type VolumeManagerOptions, type MountedVolume, type PodVolumes, volumePlugin, checkPodUid, DEFAULT_ROOT_DIR, DEFAULT_FILE_MODE, ROOT_CA_CONFIGMAP, TOKEN_UNAVAILABLE_REASON } from "./manager.js";
export { type VolumeApi, restVolumeApi } from "./api.js";
export { AtomicWriter, type FileProjection, type Payload, type WriteHooks, DATA_DIR, cleanPayloadPath, payloadPathProblem, timestampPrefix } from "./atomic-writer.js";
export { fieldRefValue, resourceFieldValue, formatMap, goQuote, expandVars, type NodeAllocatable } from "./downward.js";
export { checkHostPath } from "./hostpath.js";
export { type FSGroupChangePolicy, type VolumeOwnership, podVolumeOwnership, setVolumeOwnership, changeOwnership, rootOwnershipMatches, fsGroupFileMode } from "./ownership.js";
export { type Mounter, type MountInfo, SystemMounter, type SystemMounterOptions, parseMountInfo, mountsUnder } from "./mounter.js";
export { containerMounts, basicContainerEnv, prepareSubPath, type EnvLike } from "./mounts.js";
export { FakeVolumeApi, FakeMounter } from "./testing.js";
