// Book 3.4.6-3.4.7 and 4.2-4.5: the kubelet's cgroup management, gathered: QoS classes, resource
// conversions, the kubepods tree, and the v1 / v2 drivers with detection.
export * from "./qos.js";
export * from "./convert.js";
export * from "./paths.js";
export * from "./driver.js";
export { CgroupV2Driver, V2_CONTROLLERS } from "./v2.js";
export { CgroupV1Driver, V1_CONTROLLERS } from "./v1.js";
export * from "./detect.js";
