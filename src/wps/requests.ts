/** WPS 1.0.0 requests as the binding understands them, from KVP or XML alike. */

export interface ReferenceInput {
  type: 'reference';
  href: string;
  method: 'GET' | 'POST';
  mimeType?: string;
  encoding?: string;
  schema?: string;
  headers: Array<[string, string]>;
  body?: string;
  bodyReference?: string;
}

export type WpsInputValue =
  | { type: 'literal'; value: string; uom?: string; dataType?: string }
  | { type: 'complex'; data: string | Uint8Array; mimeType?: string; encoding?: string; schema?: string }
  | {
      type: 'bbox';
      lowerCorner: string;
      upperCorner: string;
      crs?: string;
      dimensions?: string;
    }
  | ReferenceInput
  /** A KVP value whose kind (literal, complex, bbox) only the process description can tell. */
  | { type: 'kvp'; value: string; attrs: Record<string, string> };

export interface WpsInput {
  id: string;
  value: WpsInputValue;
}

export interface OutputDefinition {
  id: string;
  mimeType?: string;
  encoding?: string;
  schema?: string;
  uom?: string;
  asReference?: boolean;
}

export type ResponseForm =
  | { kind: 'document'; outputs: OutputDefinition[]; store: boolean; status: boolean; lineage: boolean }
  | { kind: 'raw'; output: OutputDefinition };

interface Common {
  language?: string;
}

export interface GetCapabilitiesRequest extends Common {
  operation: 'GetCapabilities';
  acceptVersions?: string[];
}

export interface DescribeProcessRequest extends Common {
  operation: 'DescribeProcess';
  identifiers: string[];
}

export interface ExecuteWpsRequest extends Common {
  operation: 'Execute';
  identifier: string;
  inputs: WpsInput[];
  responseForm?: ResponseForm;
}

export type WpsRequest = GetCapabilitiesRequest | DescribeProcessRequest | ExecuteWpsRequest;
