/* Caseline: verification of an evidence bundle in the browser (WebCrypto: SHA-256, Ed25519).
   The same checks as `caseline verify-bundle` (caseline/bundle.py), in the same order: the exact
   bytes, the checkpoint's signature and key handovers, cosignatures, each entry's chain link,
   origin signature and RFC 9162 inclusion proof, then the case head the checkpoint signed.
   A failure is a code (translated by the page's catalogue) with the first bad entry. */
"use strict";
(function (root) {
  const FORMAT = "caseline-evidence-bundle/1";
  const STATEMENT = "caseline-ledger checkpoint v1";
  const COSIGNATURE = "caseline-ledger cosignature v1";
  const HANDOVER = "caseline-ledger key handover v2";
  const HANDOVER_V1 = "caseline-ledger key handover v1";
  const enc = new TextEncoder();
  const dec = new TextDecoder("utf-8", { fatal: true });

  class Failure extends Error {
    constructor(code, params, seq, ledgerSeq) {
      super(code);
      this.code = code;
      this.params = params || {};
      this.seq = seq ?? null;
      this.ledgerSeq = ledgerSeq ?? null;
    }
  }

  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  };

  function b64(value) {
    if (typeof value !== "string") throw new Failure("bad_base64");
    let bin;
    try { bin = atob(value); } catch (e) { throw new Failure("bad_base64"); }
    // Only the one form the ledger writes: unused trailing bits could otherwise be changed.
    if (btoa(bin) !== value) throw new Failure("bad_base64");
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }

  function unhex(value) {
    if (typeof value !== "string" || !/^(?:[0-9a-f]{2})*$/.test(value)) throw new Failure("bad_hex");
    return Uint8Array.from(value.match(/../g) || [], (h) => parseInt(h, 16));
  }

  function subtle() {
    if (!root.crypto || !root.crypto.subtle) throw new Failure("no_crypto");
    return root.crypto.subtle;
  }

  async function sha256(data) { return new Uint8Array(await subtle().digest("SHA-256", data)); }
  const leafHash = (data) => sha256(concat(Uint8Array.of(0), data));
  const nodeHash = (l, r) => sha256(concat(Uint8Array.of(1), l, r));

  async function signedBy(raw, signature, message) {
    let key;
    try {
      key = await subtle().importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      throw new Failure("no_ed25519");
    }
    return subtle().verify({ name: "Ed25519" }, key, signature, message);
  }

  async function publicKey(value) {
    const raw = b64(value);
    if (raw.length !== 32) throw new Failure("bad_public_key");
    return { raw, kid: hex((await sha256(raw)).slice(0, 8)) };
  }

  /* RFC 9162 §2.1.3.2; halving by division keeps positions past 2^31 exact. */
  async function verifyInclusion(index, size, leaf, path, rootHash) {
    if (!(index < size)) return false;
    let fn = index, sn = size - 1, r = leaf;
    const half = (n) => Math.floor(n / 2);
    for (const p of path) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        while (fn % 2 === 0 && fn !== 0) { fn = half(fn); sn = half(sn); }
      } else {
        r = await nodeHash(r, p);
      }
      fn = half(fn); sn = half(sn);
    }
    return sn === 0 && equal(r, rootHash);
  }

  /* Python's json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=True). */
  function exportedJson(v) {
    if (v === null) return "null";
    if (v === true || v === false) return String(v);
    if (typeof v === "number") {
      if (!Number.isSafeInteger(v)) throw new Failure("edited");
      return String(v);
    }
    if (typeof v === "string") {
      const named = { '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f" };
      return '"' + v.replace(/[\\"]|[^ -~]/g, (c) =>
        named[c] || "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")) + '"';
    }
    if (Array.isArray(v)) return "[" + v.map(exportedJson).join(",") + "]";
    return "{" + Object.keys(v).sort().map((k) => exportedJson(k) + ":" + exportedJson(v[k])).join(",") + "}";
  }

  /* RFC 8785: sorted keys (UTF-16 code units), ECMAScript number and string forms. */
  function canonical(v) {
    if (v === null || typeof v !== "object") return JSON.stringify(v);
    if (Array.isArray(v)) return "[" + v.map(canonical).join(",") + "]";
    return "{" + Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + canonical(v[k])).join(",") + "}";
  }

  function text(bytes, code) {
    try { return dec.decode(bytes); } catch (e) { throw new Failure(code); }
  }

  function fields(bytes, header, names, code) {
    const lines = text(bytes, code).split("\n");
    if (lines.length !== names.length + 2 || lines[0] !== header || lines[lines.length - 1] !== "") {
      throw new Failure(code);
    }
    const out = {};
    names.forEach((name, i) => {
      const line = lines[i + 1];
      const space = line.indexOf(" ");
      if (space < 0 || line.slice(0, space) !== name || space === line.length - 1) throw new Failure(code);
      out[name] = line.slice(space + 1);
    });
    return out;
  }

  function number(text, code) {
    if (!/^(0|[1-9][0-9]*)$/.test(text)) throw new Failure(code);
    return Number(text);
  }

  function parseStatement(bytes) {
    const f = fields(bytes, STATEMENT,
      ["tree_size", "root_hash", "heads_size", "heads_root", "signed_at", "key_id"], "statement_malformed");
    return {
      treeSize: number(f.tree_size, "statement_malformed"), rootHash: unhex(f.root_hash),
      headsSize: number(f.heads_size, "statement_malformed"), headsRoot: unhex(f.heads_root),
      signedAt: f.signed_at, keyId: f.key_id,
    };
  }

  async function handover(item) {
    if (!item || typeof item !== "object") throw new Failure("handover_malformed");
    const statement = b64(item.statement);
    // v2 names the root of the tree where the old key stopped; v1 (releases before) does not.
    const v2 = text(statement, "handover_malformed").split("\n")[0] === HANDOVER;
    const names = ["old_key_id", "old_public_key", "new_key_id", "new_public_key",
      "last_tree_size", ...(v2 ? ["last_root_hash"] : []), "handed_over_at"];
    const f = fields(statement, v2 ? HANDOVER : HANDOVER_V1, names, "handover_malformed");
    const last = number(f.last_tree_size, "handover_malformed");
    const root = v2 ? unhex(f.last_root_hash) : null;
    if (root && root.length !== 32) throw new Failure("handover_malformed");
    const oldKey = await publicKey(f.old_public_key), newKey = await publicKey(f.new_public_key);
    if (oldKey.kid !== f.old_key_id || newKey.kid !== f.new_key_id ||
        oldKey.kid !== item.old_key_id || newKey.kid !== item.new_key_id) {
      throw new Failure("handover_names", { key: newKey.kid });
    }
    if (!(await signedBy(oldKey.raw, b64(item.old_signature), statement))) {
      throw new Failure("handover_unsigned", { key: oldKey.kid });
    }
    if (!(await signedBy(newKey.raw, b64(item.new_signature), statement))) {
      throw new Failure("handover_unsigned", { key: newKey.kid });
    }
    return { oldKid: oldKey.kid, newKid: newKey.kid, last, root };
  }

  /* Each key's handover: a key is handed over once, so two of one key that disagree (another
     new key, size or root), each signed by both its keys, show its private key was used by
     someone else; only a v1 and the v2 that upgrades it agree (the v2 stands). */
  function handoverEnds(steps) {
    const ends = {};
    for (const s of steps) {
      const held = ends[s.oldKid];
      if (held) {
        const roots = held.root && s.root && !equal(held.root, s.root);
        if (held.newKid !== s.newKid || held.last !== s.last || roots) {
          throw new Failure("handover_twice", { key: s.oldKid, one: held.newKid, other: s.newKid });
        }
        if (held.root) continue;
      }
      ends[s.oldKid] = s;
    }
    return ends;
  }

  function keyPath(start, target, steps) {
    const paths = { [start]: [start] }, frontier = [start];
    while (frontier.length) {
      const kid = frontier.shift();
      if (kid === target) return paths[kid];
      for (const s of steps) {
        if (s.oldKid === kid && !(s.newKid in paths)) {
          paths[s.newKid] = [...paths[kid], s.newKid];
          frontier.push(s.newKid);
        }
      }
    }
    return null;
  }

  async function verifyCheckpoint(bundle, report, trustedKey) {
    const info = bundle.public_key;
    const key = await publicKey(info.public_key);
    if (info.algorithm !== "Ed25519" || info.key_id !== key.kid) throw new Failure("key_mismatch");
    const items = bundle.key_handovers || [];
    if (!Array.isArray(items)) throw new Failure("handover_malformed");
    const steps = [];
    for (const item of items) steps.push(await handover(item));
    if (trustedKey) {
      const trusted = (await publicKey(trustedKey)).kid;
      if (trusted !== key.kid) {
        const forward = keyPath(trusted, key.kid, steps), backward = keyPath(key.kid, trusted, steps);
        if (!forward && !backward) throw new Failure("not_trusted_key", { key: key.kid, trusted });
        report.handedOver = forward || backward;
      }
    }
    const statement = b64(bundle.checkpoint.statement);
    const cp = parseStatement(statement);
    report.checkpoint = { treeSize: cp.treeSize, rootHash: hex(cp.rootHash), signedAt: cp.signedAt, keyId: cp.keyId };
    if (cp.keyId !== key.kid) throw new Failure("checkpoint_other_key");
    if (!(await signedBy(key.raw, b64(bundle.checkpoint.signature), statement))) {
      throw new Failure("checkpoint_signature");
    }
    const ends = handoverEnds(steps), end = ends[cp.keyId];
    if (end && cp.treeSize > end.last) {
      throw new Failure("past_handover", { key: cp.keyId, last: end.last, size: cp.treeSize });
    }
    if (end && end.root && cp.treeSize === end.last && !equal(cp.rootHash, end.root)) {
      throw new Failure("handover_root", { key: cp.keyId, size: cp.treeSize });
    }
    if (end && end.root && cp.treeSize < end.last) {
      // The ledger exports against its latest checkpoint: nothing offline ties this one's root
      // to the root the handover names.
      throw new Failure("handover_before", { key: cp.keyId, size: cp.treeSize, last: end.last });
    }
    report.rootlessEnds = Object.values(ends).filter((e) => !e.root).map((e) => e.oldKid);
    for (const cosig of bundle.cosignatures) {
      const name = cosig.witness;
      if (cosig.public_key == null) { report.cosigners.push({ witness: name, checked: false }); continue; }
      const wk = await publicKey(cosig.public_key);
      const message = concat(enc.encode(`${COSIGNATURE}\nwitness ${name}\n`), statement);
      if (wk.kid !== cosig.key_id || !(await signedBy(wk.raw, b64(cosig.signature), message))) {
        throw new Failure("cosignature_bad", { witness: name });
      }
      report.cosigners.push({ witness: name, keyId: wk.kid, checked: true });
    }
    return cp;
  }

  async function serviceKeys(bundle) {
    const keys = bundle.service_keys;
    if (!keys || typeof keys !== "object" || Array.isArray(keys)) throw new Failure("no_service_keys");
    const out = {};
    for (const [kid, item] of Object.entries(keys)) {
      const key = await publicKey(item.public_key);
      if (key.kid !== kid || typeof item.service !== "string") throw new Failure("service_key_mismatch", { key: kid });
      out[kid] = { service: item.service, raw: key.raw };
    }
    return out;
  }

  async function verifyOrigin(event, services) {
    if (!event || typeof event !== "object") throw new Failure("no_event");
    const owner = String(event.type || "").split(".");
    if (owner.length < 3 || event.source !== `/caseline/${owner[1]}`) throw new Failure("origin_source");
    const kid = event.originkeyid, sig = event.originsig;
    if (typeof kid !== "string" || typeof sig !== "string") throw new Failure("origin_missing");
    if (!(kid in services) || services[kid].service !== owner[1]) throw new Failure("origin_owner", { service: owner[1] });
    const unsigned = Object.fromEntries(Object.entries(event).filter(([k]) => k !== "originkeyid" && k !== "originsig"));
    if (!(await signedBy(services[kid].raw, b64(sig), enc.encode(canonical(unsigned))))) {
      throw new Failure("origin_signature");
    }
  }

  async function verifyEntry(caseId, entry, seq, prev, after, cp) {
    const bytes = b64(entry.canonical);
    let hashed;
    try { hashed = JSON.parse(dec.decode(bytes)); } catch (e) { throw new Failure("entry_not_json"); }
    const ledgerSeq = entry.ledger_seq;
    if (entry.case_seq !== seq || hashed.case_seq !== seq) throw new Failure("out_of_place", { seq });
    if (hashed.case_id !== caseId || hashed.ledger_seq !== ledgerSeq) throw new Failure("hashed_position");
    if (!Number.isInteger(ledgerSeq) || !(after < ledgerSeq && ledgerSeq <= cp.treeSize)) throw new Failure("ledger_order");
    if (!equal(unhex(entry.prev_hash), prev)) throw new Failure("prev_hash");
    const digest = await sha256(concat(prev, bytes));
    if (hex(digest) !== entry.hash) throw new Failure("hash_mismatch");
    if (entry.inclusion_proof !== null) {
      if (!Array.isArray(entry.inclusion_proof)) throw new Failure("malformed");
      const ok = await verifyInclusion(ledgerSeq - 1, cp.treeSize, await leafHash(bytes),
        entry.inclusion_proof.map(unhex), cp.rootHash);
      if (!ok) throw new Failure("not_in_tree");
    }
    return { digest, hashed };
  }

  async function verifyEntries(bundle, report, cp, services) {
    let prev = new Uint8Array(32), after = 0, last = null, unproven = null;
    for (const [i, entry] of bundle.entries.entries()) {
      const seq = i + 1;
      const at = entry && Number.isInteger(entry.ledger_seq) ? entry.ledger_seq : null;
      let done;
      try {
        done = await verifyEntry(bundle.case_id, entry, seq, prev, after, cp);
        await verifyOrigin(done.hashed.event, services);
      } catch (e) {
        if (e instanceof Failure) { e.seq = seq; e.ledgerSeq = at; throw e; }
        throw new Failure("entry_malformed", {}, seq, at);
      }
      if (entry.inclusion_proof === null) unproven = unproven || [seq, done.hashed.ledger_seq];
      const event = done.hashed.event || {};
      report.entries.push({ seq, ledgerSeq: at, hash: entry.hash, appendedAt: done.hashed.appended_at, type: done.hashed.type, event });
      report.firstTime = report.firstTime || event.time;
      report.lastTime = event.time;
      report.events = seq;
      prev = done.digest; after = done.hashed.ledger_seq; last = done.hashed;
    }
    if (!bundle.entries.length) throw new Failure("no_entry");
    return { last: { ...last, hash: hex(prev) }, unproven };
  }

  async function verifyHead(bundle, cp, last, events) {
    const missing = () => new Failure("head_missing", {}, events + 1);
    const head = bundle.case_head;
    if (!head || typeof head !== "object") throw missing();
    const leaf = b64(head.leaf);
    if (head.heads_size !== cp.headsSize || !Array.isArray(head.proof) ||
        !(await verifyInclusion(head.index, cp.headsSize, await leafHash(leaf), head.proof.map(unhex), cp.headsRoot))) {
      throw missing();
    }
    const signed = JSON.parse(dec.decode(leaf));
    if (signed.case_id !== bundle.case_id) throw missing();
    if ((signed.case_seq || 0) > events) {
      throw new Failure("entries_missing", { from: events + 1, to: signed.case_seq }, events + 1);
    }
    if (signed.case_seq !== events || signed.ledger_seq !== last.ledger_seq || signed.head_hash !== last.hash) {
      throw missing();
    }
  }

  async function run(raw, report, trustedKey) {
    let text, bundle;
    try { text = dec.decode(raw); bundle = JSON.parse(text); } catch (e) { throw new Failure("not_json"); }
    if (!bundle || typeof bundle !== "object" || bundle.format !== FORMAT) throw new Failure("not_bundle");
    report.caseId = String(bundle.case_id);
    if (exportedJson(bundle) + "\n" !== text) throw new Failure("edited");
    const cp = await verifyCheckpoint(bundle, report, trustedKey);
    const services = await serviceKeys(bundle);
    const { last, unproven } = await verifyEntries(bundle, report, cp, services);
    const signers = new Set(report.entries.map((e) => e.event.originkeyid));
    if (Object.keys(services).some((kid) => !signers.has(kid))) throw new Failure("unused_service_key");
    await verifyHead(bundle, cp, last, report.events);
    if (unproven) throw new Failure("unproven", {}, unproven[0], unproven[1]);
  }

  /** Verify a bundle file's bytes; `trustedKey` (base64) pins the ledger's key when known. */
  async function verifyBundle(raw, trustedKey) {
    const report = { ok: false, caseId: null, events: 0, firstTime: null, lastTime: null,
      checkpoint: null, cosigners: [], handedOver: null, rootlessEnds: [], entries: [], failure: null };
    try {
      await run(raw, report, trustedKey || null);
      report.ok = true;
    } catch (e) {
      report.failure = e instanceof Failure
        ? { code: e.code, params: e.params, seq: e.seq, ledgerSeq: e.ledgerSeq }
        : { code: "malformed", params: {}, seq: null, ledgerSeq: null };
    }
    return report;
  }

  root.CaselineVerify = { verifyBundle, verifyInclusion, canonical };
})(typeof window !== "undefined" ? window : globalThis);
