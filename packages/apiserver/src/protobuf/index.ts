// Book 1.6.1 and 11.2: Kubernetes' protobuf encoding of request bodies — what kubectl's typed clients
// send — decoded into the JSON objects the rest of the API server works with.
export {
  decodeKubernetesProtobuf,
  isKubernetesProtobuf,
  MAX_PROTOBUF_DEPTH,
  PROTOBUF_MAGIC,
  PROTOBUF_MEDIA_TYPE,
} from "./decode.js";
