// Connection quality from WebRTC statistics: round-trip time, packet loss and bitrate, sampled
// from getStats() and graded good / fair / poor, with the figures in words.

import { t } from "./strings.js";

// Thresholds for a talking-heads call: ITU-T G.114 puts one-way delay above 150 ms as noticeable
// (so a round trip above ~300 ms), video degrades visibly from a few percent loss, a camera
// picture turns coarse below ~150 kbit/s and into a slideshow below ~64 kbit/s.
const POOR = { rtt: 0.4, loss: 0.08, kbps: 64 };
const FAIR = { rtt: 0.25, loss: 0.03, kbps: 150 };

/**
 * good / fair / poor from {rtt (s or null), loss (0..1), kbps (received, or null)}. Bitrate only
 * counts when video is expected: a peer with the camera off sends very little, and that is fine.
 */
export function qualityLevel({ rtt, loss, kbps }, { expectVideo = true } = {}) {
  const slow = (limit) => rtt !== null && rtt !== undefined && rtt > limit;
  const thin = (limit) => expectVideo && kbps !== null && kbps !== undefined && kbps < limit;
  if (slow(POOR.rtt) || loss > POOR.loss || thin(POOR.kbps)) return "poor";
  if (slow(FAIR.rtt) || loss > FAIR.loss || thin(FAIR.kbps)) return "fair";
  return "good";
}

/** The figures in a short phrase: "delay 24 ms, 0% lost, 950 kbit/s". */
export function qualityDetail({ rtt, loss, kbps }) {
  return t("common.qualityDetail",
    rtt === null ? null : Math.round(rtt * 1000),
    Math.round(loss * 1000) / 10,
    kbps);
}

/**
 * One sample of a connection: totals from getStats() and, against the previous sample of the
 * same connection, the loss and bitrate since then. Pass the returned `totals` back next time.
 */
export async function sampleStats(pc, previous) {
  const report = await pc.getStats();
  let rtt = null;
  let lost = 0;
  let received = 0;
  let bytes = 0;
  report.forEach((s) => {
    if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") {
      rtt = s.currentRoundTripTime ?? rtt;
    } else if (s.type === "inbound-rtp") {
      lost += s.packetsLost || 0;
      received += s.packetsReceived || 0;
      bytes += s.bytesReceived || 0;
    }
  });
  const totals = { lost, received, bytes, at: performance.now() };
  if (!previous) return { rtt, loss: 0, kbps: null, totals };
  const dLost = Math.max(0, lost - previous.lost);
  const dReceived = Math.max(0, received - previous.received);
  const seconds = Math.max(0.001, (totals.at - previous.at) / 1000);
  return {
    rtt,
    loss: dLost + dReceived > 0 ? dLost / (dLost + dReceived) : 0,
    kbps: Math.round(((bytes - previous.bytes) * 8) / 1000 / seconds),
    totals,
  };
}
