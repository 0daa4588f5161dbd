// Signed actions made in the browser (evidence-format §6): the action's eight members, its
// canonical form (RFC 8785 JCS), signed with the actor's own key kept in this browser
// (keys.js), submitted to POST /v1/actions as any client submits one. The server never
// sees the key; the ledger checks the signature as it checks every action's.
"use strict";
const SunledgerActions = (function () {
  // RFC 8785 for ledger JSON (strings, safe integers, booleans, null, arrays, objects; no
  // floats: the ledger refuses them): members sorted by their UTF-16 code units, which is
  // what Array.prototype.sort compares, and strings and integers as JSON.stringify writes
  // them, which RFC 8785 §3.2.2 adopts. tests/test_portal_witness.py checks it against the
  // ledger's own canonical form on hostile keys and text.
  function canonical(value) {
    if (value === null || typeof value === "boolean" || typeof value === "string") {
      return JSON.stringify(value);
    }
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) throw new Error("ledger JSON has no floats: " + value);
      return JSON.stringify(value);
    }
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    if (typeof value === "object") {
      return "{" + Object.keys(value).sort()
        .map((key) => JSON.stringify(key) + ":" + canonical(value[key])).join(",") + "}";
    }
    throw new Error("not ledger JSON: " + typeof value);
  }

  function hex(bytes) {
    return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function sha256(data) {  // of an ArrayBuffer, Blob or File, as lowercase hex
    const buffer = data instanceof Blob ? await data.arrayBuffer() : data;
    return hex(await crypto.subtle.digest("SHA-256", buffer));
  }

  function ledgerTime(date) {  // 2026-12-03T14:00:00.123000Z: microseconds, as the ledger writes
    return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
  }

  // sign {stream, type, payload} at `expectedVersion` as `actor` with the key kept here
  async function sign(actor, keyId, stream, type, payload, expectedVersion) {
    const kept = await SunledgerKeys.kept();
    if (!kept || kept.actor !== actor || kept.keyId !== keyId) {
      const error = new Error("wrong-key");
      error.code = "wrong-key";
      throw error;
    }
    const action = {
      actor, expected_version: expectedVersion, key_id: keyId,
      nonce: hex(crypto.getRandomValues(new Uint8Array(16))), payload,
      signed_at: ledgerTime(new Date()), stream, type,
    };
    const signature = await SunledgerKeys.sign(kept.key, new TextEncoder().encode(canonical(action)));
    return {action, signature};
  }

  // POST /v1/actions: {ok, status, body (the receipt, or the RFC 9457 problem)}
  async function submit(signed) {
    const response = await fetch("/v1/actions", {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(signed),
    });
    return {ok: response.ok, status: response.status, body: await response.json()};
  }

  return {canonical, sha256, sign, submit};
})();
