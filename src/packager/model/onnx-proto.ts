/**
 * ONNX ModelProto read and written with protobufjs. The schema is onnx/onnx.proto (ONNX 1.23, IR 14)
 * held here as text: protobufjs drops fields its schema does not know, so only a complete, current
 * schema lets a round trip keep everything a model carries (enum fields are declared int32: the same
 * varint on the wire, and no value outside the enum is lost). Fields are encoded in field-number order
 * and proto2 packing, as C++ protobuf writes them, so a model written by onnx or paddle2onnx comes
 * back byte for byte.
 */
import {randomBytes} from 'node:crypto'
import {open, readFile, rename, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import protobuf from 'protobufjs'
import {SaiError} from '../../errors/sai-error.js'

const ONNX_PROTO = `
syntax = "proto2";
package onnx;
message AttributeProto {
  reserved 12, 16 to 19;
  optional string name = 1;
  optional string ref_attr_name = 21;
  optional string doc_string = 13;
  optional int32 type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  optional SparseTensorProto sparse_tensor = 22;
  optional TypeProto tp = 14;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
  repeated SparseTensorProto sparse_tensors = 23;
  repeated TypeProto type_protos = 15;
}
message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
  repeated StringStringEntryProto metadata_props = 4;
}
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  optional string overload = 8;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
  repeated StringStringEntryProto metadata_props = 9;
  repeated NodeDeviceConfigurationProto device_configurations = 10;
}
message IntIntListEntryProto {
  optional int64 key = 1;
  repeated int64 value = 2;
}
message NodeDeviceConfigurationProto {
  optional string configuration_id = 1;
  repeated ShardingSpecProto sharding_spec = 2;
  optional int32 pipeline_stage = 3;
}
message ShardingSpecProto {
  optional string tensor_name = 1;
  repeated int64 device = 2;
  repeated IntIntListEntryProto index_to_device_group_map = 3;
  repeated ShardedDimProto sharded_dim = 4;
}
message ShardedDimProto {
  optional int64 axis = 1;
  repeated SimpleShardedDimProto simple_sharding = 2;
}
message SimpleShardedDimProto {
  oneof dim {
    int64 dim_value = 1;
    string dim_param = 2;
  }
  optional int64 num_shards = 3;
}
message TrainingInfoProto {
  optional GraphProto initialization = 1;
  optional GraphProto algorithm = 2;
  repeated StringStringEntryProto initialization_binding = 3;
  repeated StringStringEntryProto update_binding = 4;
}
message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
  repeated TrainingInfoProto training_info = 20;
  repeated FunctionProto functions = 25;
  repeated DeviceConfigurationProto configuration = 26;
}
message DeviceConfigurationProto {
  optional string name = 1;
  optional int32 num_devices = 2;
  repeated string device = 3;
}
message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}
message TensorAnnotation {
  optional string tensor_name = 1;
  repeated StringStringEntryProto quant_parameter_tensor_names = 2;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  repeated SparseTensorProto sparse_initializer = 15;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
  repeated TensorAnnotation quantization_annotation = 14;
  repeated StringStringEntryProto metadata_props = 16;
  reserved 3, 4, 6 to 9;
}
message TensorProto {
  message Segment {
    optional int64 begin = 1;
    optional int64 end = 2;
  }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional Segment segment = 3;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
  repeated StringStringEntryProto external_data = 13;
  optional int32 data_location = 14;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
  repeated StringStringEntryProto metadata_props = 16;
}
message SparseTensorProto {
  optional TensorProto values = 1;
  optional TensorProto indices = 2;
  repeated int64 dims = 3;
}
message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  message Sequence {
    optional TypeProto elem_type = 1;
  }
  message Map {
    optional int32 key_type = 1;
    optional TypeProto value_type = 2;
  }
  message Optional {
    optional TypeProto elem_type = 1;
  }
  message SparseTensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  message Opaque {
    optional string domain = 1;
    optional string name = 2;
    reserved 3;
  }
  oneof value {
    Tensor tensor_type = 1;
    Sequence sequence_type = 4;
    Map map_type = 5;
    Optional optional_type = 9;
    SparseTensor sparse_tensor_type = 8;
    Opaque opaque_type = 7;
  }
  optional string denotation = 6;
}
message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
message FunctionProto {
  reserved 2, 3;
  optional string name = 1;
  repeated string input = 4;
  repeated string output = 5;
  repeated string attribute = 6;
  repeated AttributeProto attribute_proto = 11;
  repeated NodeProto node = 7;
  optional string doc_string = 8;
  repeated OperatorSetIdProto opset_import = 9;
  optional string domain = 10;
  optional string overload = 13;
  repeated ValueInfoProto value_info = 12;
  repeated StringStringEntryProto metadata_props = 14;
}
`

const ModelType = protobuf.parse(ONNX_PROTO).root.lookupType('onnx.ModelProto')

/** protobufjs gives int64 fields as Long objects: a Number would turn Slice's INT64_MAX ends into INT64_MIN on the way back. */
export type Int64 = number | protobuf.Long

export const DataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
} as const

export const AttributeType = {FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10} as const

export interface StringStringEntryProto {key?: string; value?: string}
export interface OperatorSetIdProto {domain?: string; version?: Int64}

export interface TensorProto {
  dims: Int64[]
  dataType?: number
  segment?: {begin?: Int64; end?: Int64}
  floatData?: number[]
  int32Data?: number[]
  stringData?: Uint8Array[]
  int64Data?: Int64[]
  name?: string
  docString?: string
  rawData?: Uint8Array
  externalData?: StringStringEntryProto[]
  dataLocation?: number
  doubleData?: number[]
  uint64Data?: Int64[]
  metadataProps?: StringStringEntryProto[]
}

export interface TensorShapeProto {dim: {dimValue?: Int64; dimParam?: string; denotation?: string}[]}

export interface TypeProto {
  tensorType?: {elemType?: number; shape?: TensorShapeProto}
  sequenceType?: {elemType?: TypeProto}
  mapType?: {keyType?: number; valueType?: TypeProto}
  optionalType?: {elemType?: TypeProto}
  sparseTensorType?: {elemType?: number; shape?: TensorShapeProto}
  opaqueType?: {domain?: string; name?: string}
  denotation?: string
}

export interface ValueInfoProto {name?: string; type?: TypeProto; docString?: string; metadataProps?: StringStringEntryProto[]}

export interface AttributeProto {
  name?: string
  refAttrName?: string
  docString?: string
  type?: number
  f?: number
  i?: Int64
  s?: Uint8Array
  t?: TensorProto
  g?: GraphProto
  floats?: number[]
  ints?: Int64[]
  strings?: Uint8Array[]
  tensors?: TensorProto[]
  graphs?: GraphProto[]
  sparseTensor?: unknown
  sparseTensors?: unknown[]
  tp?: TypeProto
  typeProtos?: TypeProto[]
}

export interface NodeProto {
  input: string[]
  output: string[]
  name?: string
  opType?: string
  domain?: string
  overload?: string
  attribute: AttributeProto[]
  docString?: string
  metadataProps?: StringStringEntryProto[]
  deviceConfigurations?: unknown[]
}

export interface GraphProto {
  node: NodeProto[]
  name?: string
  initializer: TensorProto[]
  sparseInitializer?: unknown[]
  docString?: string
  input: ValueInfoProto[]
  output: ValueInfoProto[]
  valueInfo: ValueInfoProto[]
  quantizationAnnotation?: unknown[]
  metadataProps?: StringStringEntryProto[]
}

export interface ModelProto {
  irVersion?: Int64
  opsetImport: OperatorSetIdProto[]
  producerName?: string
  producerVersion?: string
  domain?: string
  modelVersion?: Int64
  docString?: string
  graph?: GraphProto
  metadataProps?: StringStringEntryProto[]
  trainingInfo?: unknown[]
  functions?: unknown[]
  configuration?: unknown[]
}

export function decodeModel(bytes: Uint8Array): ModelProto {
  const message = ModelType.decode(bytes)
  // Plain objects with their own arrays: decoded messages share one frozen empty array for every absent repeated field.
  return ModelType.toObject(message, {arrays: true}) as ModelProto
}

export function encodeModel(model: ModelProto): Uint8Array {
  return ModelType.encode(model).finish()
}

export function encodedSize(model: ModelProto): number {
  return ModelType.encode(model).len
}

/** Reads a model, bringing tensors stored beside it (external data, used by models near protobuf's 2 GB limit) into the proto. */
export async function readModel(file: string): Promise<ModelProto> {
  let bytes: Buffer
  try {
    bytes = await readFile(file)
  } catch (error) {
    throw new SaiError('SAI_MODEL_NOT_FOUND', `cannot read the model file ${file}: ${(error as Error).message}`, {hint: 'check the model path', cause: error})
  }
  let model: ModelProto
  try {
    model = decodeModel(bytes)
  } catch (error) {
    throw new SaiError('SAI_MODEL_INVALID', `${file} is not an ONNX model: ${(error as Error).message}`, {
      hint: 'pass a complete .onnx file (a truncated download or another format fails like this)',
      cause: error,
    })
  }
  if (!model.graph) throw new SaiError('SAI_MODEL_INVALID', `${file} has no graph`, {hint: 'pass a complete .onnx model file'})
  await inlineExternalData(model, path.dirname(file))
  return model
}

/** Writes through a temporary file and a rename, so a failure never leaves a half-written model behind. */
export async function writeModel(file: string, model: ModelProto | Uint8Array): Promise<number> {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model)
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeFile(temporary, bytes)
    await rename(temporary, file)
  } catch (error) {
    await rm(temporary, {force: true})
    throw error
  }
  return bytes.byteLength
}

function allTensors(graph: GraphProto): TensorProto[] {
  const found = [...graph.initializer]
  for (const node of graph.node) {
    for (const attribute of node.attribute) {
      if (attribute.t) found.push(attribute.t)
      found.push(...(attribute.tensors ?? []))
      if (attribute.g) found.push(...allTensors(attribute.g))
      for (const subgraph of attribute.graphs ?? []) found.push(...allTensors(subgraph))
    }
  }
  return found
}

async function inlineExternalData(model: ModelProto, directory: string): Promise<void> {
  for (const tensor of allTensors(model.graph!)) {
    if (tensor.dataLocation !== 1) continue
    const entry = (key: string) => tensor.externalData?.find((e) => e.key === key)?.value
    const location = entry('location')
    if (!location) throw new SaiError('SAI_MODEL_INVALID', `tensor '${tensor.name}' is stored outside the model without a location`, {hint: 'export the model again with its external data'})
    const file = path.resolve(directory, location)
    const offset = Number(entry('offset') ?? 0)
    let handle
    try {
      handle = await open(file, 'r')
      const length = entry('length') ? Number(entry('length')) : (await handle.stat()).size - offset
      const data = Buffer.alloc(length)
      await handle.read(data, 0, length, offset)
      tensor.rawData = data
    } catch (error) {
      throw new SaiError('SAI_MODEL_INVALID', `cannot read the external data of tensor '${tensor.name}' from ${file}: ${(error as Error).message}`, {
        hint: 'keep the model\'s external data files next to it',
        cause: error,
      })
    } finally {
      await handle?.close()
    }
    delete tensor.externalData
    delete tensor.dataLocation
  }
}

export const toNumber = (value: Int64 | undefined): number =>
  value === undefined ? 0 : typeof value === 'number' ? value : protobuf.util.LongBits.from(value).toNumber(value.unsigned)

export const tensorDims = (tensor: TensorProto): number[] => tensor.dims.map(toNumber)

export const elementCount = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1)

/** A float32 tensor's values in an aligned copy (raw_data slices of the file buffer may start at any byte). */
export function floatValues(tensor: TensorProto): Float32Array {
  if (tensor.dataType !== DataType.FLOAT) throw new Error(`tensor '${tensor.name}' is not float32`)
  if (tensor.rawData && tensor.rawData.byteLength > 0) {
    const copy = new Uint8Array(tensor.rawData)
    return new Float32Array(copy.buffer, 0, copy.byteLength / 4)
  }
  return Float32Array.from(tensor.floatData ?? [])
}

export function makeTensor(name: string, dataType: number, dims: readonly number[], data: ArrayBufferView): TensorProto {
  return {name, dataType, dims: [...dims], rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength)}
}

export function makeNode(
  opType: string, input: string[], output: string[], name: string, attribute: AttributeProto[] = [], domain?: string,
): NodeProto {
  return {opType, input, output, name, attribute, ...(domain === undefined ? {} : {domain})}
}

export const attributes = {
  int: (name: string, i: number): AttributeProto => ({name, type: AttributeType.INT, i}),
  float: (name: string, f: number): AttributeProto => ({name, type: AttributeType.FLOAT, f}),
  ints: (name: string, ints: number[]): AttributeProto => ({name, type: AttributeType.INTS, ints}),
}

export const findAttribute = (node: NodeProto, name: string): AttributeProto | undefined => node.attribute.find((a) => a.name === name)
export const intAttribute = (node: NodeProto, name: string, fallback: number): number => {
  const found = findAttribute(node, name)
  return found?.i === undefined ? fallback : toNumber(found.i)
}
export const floatAttribute = (node: NodeProto, name: string, fallback: number): number => findAttribute(node, name)?.f ?? fallback

/** The opset a domain is imported at ('' and 'ai.onnx' are both the default domain); 0 when not imported. */
export function opsetVersion(model: ModelProto, domain = ''): number {
  const wanted = domain === 'ai.onnx' ? '' : domain
  const entry = model.opsetImport.find((o) => (o.domain === 'ai.onnx' ? '' : o.domain ?? '') === wanted)
  return entry ? toNumber(entry.version) : 0
}
