// The ten parameters of one segment as fixed-size bars in four colour groups (one per guide step):
// the track spans the allowed min..max, the fill and marker show the value.
import type { ParamInfo, RuleParams } from "../api/types";
import { fmt } from "../lib/dom";
import { formatNumber } from "../lib/numbers";
import { PARAM_ORDER } from "../lib/segments";
import { STEP_COLORS } from "./theme";
import type { Svg } from "./types";

export function drawParamBars(
  svg: Svg,
  data: { rule: RuleParams; params: ParamInfo[] },
  config: { width: number; rowHeight?: number },
): void {
  const rowH = config.rowHeight ?? 13;
  const labelW = 28;
  const valueW = 30;
  const w = config.width;
  const trackW = w - labelW - valueW;
  const specs = PARAM_ORDER.map((name) => data.params.find((p) => p.name === name)).filter((p): p is ParamInfo => !!p);
  svg.selectAll("*").remove();
  svg.attr("width", w).attr("height", specs.length * rowH + 2);
  const rows = svg
    .selectAll("g")
    .data(specs)
    .join("g")
    .attr("transform", (_, i) => `translate(0,${i * rowH + 1})`);
  rows.append("title").text((p) => `${p.symbol} = ${formatNumber(data.rule[p.name as keyof RuleParams])} (range ${formatNumber(p.minimum)}–${formatNumber(p.maximum)}): ${p.description}`);
  rows
    .append("text")
    .attr("class", "p-sym")
    .attr("x", 0)
    .attr("y", rowH - 3)
    .text((p) => p.symbol);
  rows
    .append("rect")
    .attr("x", labelW)
    .attr("width", trackW)
    .attr("height", rowH - 3)
    .attr("fill", (p) => STEP_COLORS[p.step])
    .attr("opacity", 0.18);
  rows
    .append("rect")
    .attr("x", labelW)
    .attr("height", rowH - 3)
    .attr("fill", (p) => STEP_COLORS[p.step])
    .attr("width", (p) => {
      const v = data.rule[p.name as keyof RuleParams];
      return Math.max(0, Math.min(1, (v - p.minimum) / (p.maximum - p.minimum))) * trackW;
    });
  rows
    .append("text")
    .attr("class", "p-range")
    .attr("x", labelW + 2)
    .attr("y", rowH - 4)
    .text((p) => fmt(p.minimum));
  rows
    .append("text")
    .attr("class", "p-range")
    .attr("x", labelW + trackW - 2)
    .attr("y", rowH - 4)
    .attr("text-anchor", "end")
    .text((p) => fmt(p.maximum));
  rows
    .append("text")
    .attr("class", "p-val")
    .attr("x", w)
    .attr("y", rowH - 3)
    .attr("text-anchor", "end")
    .text((p) => fmt(data.rule[p.name as keyof RuleParams]));
}
