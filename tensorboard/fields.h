// Internal: the protobuf field numbers the summary writer uses, from TensorBoard's own protos
// (tensorboard/compat/proto/event.proto, summary.proto, histogram.proto, tensor.proto,
// tensor_shape.proto, types.proto; plugins/hparams/plugin_data.proto, api.proto; and
// google/protobuf/struct.proto), checked against the descriptors of the `tensorboard` package.
#pragma once

namespace tapeflow::tensorboard::fields {

// Event
constexpr int kEventWallTime = 1, kEventStep = 2, kEventFileVersion = 3, kEventSummary = 5;
// Summary { repeated Value value = 1; }
constexpr int kSummaryValue = 1;
// Summary.Value
constexpr int kValueTag = 1, kValueSimple = 2, kValueImage = 4, kValueHisto = 5, kValueTensor = 8,
              kValueMetadata = 9;
// Summary.Image
constexpr int kImgHeight = 1, kImgWidth = 2, kImgColorspace = 3, kImgEncoded = 4;
// HistogramProto (bucket_limit and bucket are packed doubles)
constexpr int kHMin = 1, kHMax = 2, kHNum = 3, kHSum = 4, kHSumSq = 5, kHLimit = 6, kHBucket = 7;
// SummaryMetadata { PluginData plugin_data = 1; }  PluginData { plugin_name = 1; content = 2; }
constexpr int kMetaPluginData = 1, kPluginName = 1, kPluginContent = 2;
// TensorProto { dtype = 1; tensor_shape = 2; string_val = 8; }  TensorShapeProto { dim = 2; }
constexpr int kTensorDtype = 1, kTensorShape = 2, kTensorStringVal = 8, kShapeDim = 2;
// DataType
constexpr int kDtFloat = 1, kDtString = 7;
// HParamsPluginData { version = 1; experiment = 2; session_start_info = 3; }
constexpr int kHpExperiment = 2, kHpSessionStart = 3;
// SessionStartInfo { map<string, Value> hparams = 1; group_name = 4; start_time_secs = 5; }
constexpr int kSsiHParams = 1, kSsiGroupName = 4, kSsiStartTime = 5;
// map entries: key = 1, value = 2
constexpr int kMapKey = 1, kMapValue = 2;
// google.protobuf.Value { number_value = 2; string_value = 3; bool_value = 4; }
constexpr int kPbNumber = 2, kPbString = 3, kPbBool = 4;
// Experiment { time_created_secs = 3; hparam_infos = 4; metric_infos = 5; }
constexpr int kExpTimeCreated = 3, kExpHParamInfos = 4, kExpMetricInfos = 5;
// HParamInfo { name = 1; type = 4; }  hparams DataType: STRING = 1, BOOL = 2, FLOAT64 = 3
constexpr int kHpiName = 1, kHpiType = 4;
constexpr int kHpTypeString = 1, kHpTypeBool = 2, kHpTypeFloat64 = 3;
// MetricInfo { MetricName name = 1; }  MetricName { group = 1; tag = 2; }
constexpr int kMiName = 1, kMnGroup = 1, kMnTag = 2;

}  // namespace tapeflow::tensorboard::fields
