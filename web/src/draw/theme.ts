// Visual constants in one place.
export const SEGMENT_COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#e15759", "#76b7b2", "#edc948", "#9c755f"];

export function segmentColor(k: number): string {
  return SEGMENT_COLORS[k % SEGMENT_COLORS.length];
}

export const KIND_COLORS: Record<string, string> = {
  Conv: "#c9d7ea",
  Linear: "#f3c9a4",
  ReLU: "#e6e6e6",
  Activation: "#e6e6e6",
  MaxPool: "#cfe7c9",
  AvgPool: "#cfe7c9",
  Add: "#f0e2a8",
  Concat: "#f0e2a8",
  BatchNorm: "#ead1e6",
};

export const KIND_SHORT: Record<string, string> = {
  Conv: "Conv",
  Linear: "Lin",
  ReLU: "ReLU",
  Activation: "Act",
  MaxPool: "Pool",
  AvgPool: "Pool",
  Add: "Add",
  Concat: "Cat",
  BatchNorm: "BN",
  Flatten: "Flat",
  Reshape: "Resh",
  Dropout: "Drop",
  Identity: "Id",
  Pad: "Pad",
};

export function kindColor(kind: string): string {
  return KIND_COLORS[kind] ?? "#eeeeee";
}

/** The four steps of the configuration guide, one colour each. */
export const STEP_COLORS: Record<number, string> = { 1: "#4e79a7", 2: "#59a14f", 3: "#f28e2b", 4: "#b07aa1" };
