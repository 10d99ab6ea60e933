// Book 11.2.4: score normalization: stretch raw plugin scores onto 0..100 so plugins with different
// scales can be weighted and summed (reverse for "fewer is better", e.g. untolerated soft taints).
import { MAX_NODE_SCORE, type NodeScore } from "../../framework/types.js";

/**
 * Scales scores so the highest becomes `maxPriority` (usually MAX_NODE_SCORE); with `reverse`,
 * the highest becomes 0 and the lowest maxPriority. All-zero scores stay 0 (or maxPriority reversed).
 */
export function defaultNormalizeScore(maxPriority: number, reverse: boolean, scores: NodeScore[]): void {
  let max = 0;
  for (const s of scores) if (s.score > max) max = s.score;
  if (max === 0) {
    if (reverse) for (const s of scores) s.score = maxPriority;
    return;
  }
  for (const s of scores) {
    let v = Math.floor((maxPriority * s.score) / max);
    if (reverse) v = maxPriority - v;
    s.score = v;
  }
}

export { MAX_NODE_SCORE };
