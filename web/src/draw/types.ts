import type { Selection } from "d3";

/** A detached or mounted <svg> created with d3.create("svg"): what every draw function paints into. */
export type Svg = Selection<SVGSVGElement, undefined, null, undefined>;
