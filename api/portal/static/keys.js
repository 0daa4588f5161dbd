// Sign-in with the actor's own key: the key file (PKCS #8 PEM, as `sunledger keygen` writes
// it) is read here, imported into WebCrypto, re-imported as a key that cannot be exported,
// and kept in IndexedDB for the session; only a signature of the server's challenge leaves
// the browser.
"use strict";
const SunledgerKeys = (function () {
  const DB = "sunledger-portal", STORE = "keys", SLOT = "session";

  function bytesOfPem(text) {
    const match = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(text);
    if (!match) throw new Error("not a PEM private key (-----BEGIN PRIVATE KEY-----)");
    const raw = atob(match[1].replace(/\s+/g, ""));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  function fromBase64url(text) {
    const raw = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  function toBase64(bytes) {
    let raw = "";
    for (const b of new Uint8Array(bytes)) raw += String.fromCharCode(b);
    return btoa(raw);
  }

  async function keyId(publicKey) {  // the first 16 bytes of SHA-256(public key), hex
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", publicKey));
    return Array.from(digest.slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function database() {
    return new Promise((resolve, reject) => {
      const opening = indexedDB.open(DB, 1);
      opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
      opening.onsuccess = () => resolve(opening.result);
      opening.onerror = () => reject(opening.error);
    });
  }

  async function keep(entry) {
    const db = await database();
    await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, "readwrite");
      tx.objectStore(STORE).put(entry, SLOT);
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  }

  async function kept() {
    const db = await database();
    const entry = await new Promise((resolve, reject) => {
      const got = db.transaction(STORE).objectStore(STORE).get(SLOT);
      got.onsuccess = () => resolve(got.result);
      got.onerror = () => reject(got.error);
    });
    db.close();
    return entry;
  }

  async function forget() {
    const db = await database();
    await new Promise((resolve) => {
      const tx = db.transaction(STORE, "readwrite");
      tx.objectStore(STORE).delete(SLOT);
      tx.oncomplete = resolve;
      tx.onerror = resolve;
    });
    db.close();
  }

  // the key file's text -> {key (non-extractable CryptoKey), keyId}
  async function importKeyFile(text) {
    const loose = await crypto.subtle.importKey("pkcs8", bytesOfPem(text), {name: "Ed25519"}, true, ["sign"]);
    const jwk = await crypto.subtle.exportKey("jwk", loose);
    const id = await keyId(fromBase64url(jwk.x));
    const key = await crypto.subtle.importKey("jwk", jwk, {name: "Ed25519"}, false, ["sign"]);
    jwk.d = "";  // the private half is kept only inside the non-extractable key
    return {key, keyId: id};
  }

  async function sign(key, bytes) {
    return toBase64(await crypto.subtle.sign({name: "Ed25519"}, key, bytes));
  }

  return {importKeyFile, keep, kept, forget, sign};
})();
