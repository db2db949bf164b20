/// The page's style and script, served as `/app.css` and `/app.js`. The script writes every value with
/// `textContent` (never as HTML), sends each decision as a POST with the token and a fresh nonce, and moves on
/// only when the server has answered that the decision is committed.
enum ReviewAssets {
    static let style = #"""
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.4 system-ui, sans-serif; background: #15171a; color: #e8e8e8; }
    header { display: flex; align-items: center; gap: 18px; padding: 8px 16px; background: #1f2227; border-bottom: 1px solid #333; flex-wrap: wrap; }
    header h1 { font-size: 17px; margin: 0; color: #9fc3ff; }
    .progress { font-size: 16px; }
    .bar { flex: 1; min-width: 120px; height: 8px; background: #333; border-radius: 4px; overflow: hidden; }
    #bar-fill { height: 100%; width: 0; background: #4caf50; }
    main { display: flex; gap: 16px; padding: 12px 16px; align-items: flex-start; }
    #stage { flex: 1; min-width: 0; }
    aside { width: 300px; flex-shrink: 0; background: #1f2227; border-radius: 6px; padding: 8px 12px; max-height: calc(100vh - 80px); overflow-y: auto; }
    aside h2 { font-size: 14px; text-transform: uppercase; letter-spacing: .05em; color: #aaa; margin: 10px 0 6px; }
    .title { font-size: 17px; margin-bottom: 6px; }
    .title .score { color: #ffd479; margin-left: 10px; }
    .title .was { margin-left: 10px; padding: 1px 8px; border-radius: 4px; background: #444; }
    .panels { display: grid; grid-template-columns: repeat(3, 1fr); gap: 10px; }
    .panels.lower { margin-top: 10px; }
    figure { margin: 0; background: #0c0d0f; border-radius: 4px; padding: 4px; }
    figure img, figure canvas { display: block; width: 100%; height: auto; max-height: 38vh; object-fit: contain; image-rendering: pixelated; }
    figcaption { text-align: center; color: #aaa; font-size: 13px; padding-top: 2px; }
    .keys { display: flex; flex-direction: column; gap: 8px; }
    .keys button { font-size: 20px; padding: 10px 18px; border-radius: 6px; border: 0; cursor: pointer; color: #fff; text-align: left; }
    .keys button:disabled { opacity: .45; cursor: default; }
    button.accept { background: #2e7d32; } button.reject { background: #c62828; } button.skip { background: #555; }
    button.undo { background: #37474f; } button.back { background: #1565c0; }
    kbd { display: inline-block; min-width: 1.4em; padding: 0 5px; border-radius: 3px; background: rgba(255,255,255,.2); font: bold 14px monospace; text-align: center; }
    .help { color: #aaa; font-size: 13px; margin: 4px 0 0; }
    .help kbd { background: #333; }
    .notice { background: #5d4037; padding: 6px 10px; border-radius: 4px; margin-bottom: 8px; }
    .notice.done { background: #1b5e20; }
    table { border-collapse: collapse; width: 100%; font-size: 13px; }
    th, td { text-align: left; padding: 2px 4px; border-bottom: 1px solid #333; }
    td.num { text-align: right; font-variant-numeric: tabular-nums; }
    ol { padding-left: 0; margin: 0; list-style: none; }
    ol li button { width: 100%; text-align: left; background: none; border: 0; color: #ddd; padding: 3px 4px; cursor: pointer; font-size: 13px; border-radius: 3px; }
    ol li button:hover { background: #333; }
    .d-accept { color: #81c784; font-weight: bold; } .d-reject { color: #e57373; font-weight: bold; } .d-skip { color: #999; }
    .muted { color: #888; font-size: 13px; }
    .error { color: #ff8a80; }
    body.start { display: flex; justify-content: center; padding-top: 12vh; }
    body.start form, body.start .box { background: #1f2227; padding: 24px 32px; border-radius: 8px; min-width: 340px; }
    body.start input { font-size: 18px; padding: 6px; margin: 8px 0 12px; width: 100%; }
    body.start button { font-size: 16px; padding: 8px 18px; }
    a { color: #9fc3ff; }
    """#

    static let script = #"""
    "use strict";
    (function () {
      const token = document.querySelector('meta[name="review-token"]').content;
      const reviewer = document.body.dataset.reviewer;
      const $ = (id) => document.getElementById(id);
      let state = null;
      let busy = false;

      function nonce() {
        const bytes = new Uint8Array(16);
        crypto.getRandomValues(bytes);
        return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      }

      function percent(x) { return x == null ? "-" : Math.round(x * 100) + "%"; }

      function showNotice(text, done) {
        const n = $("notice");
        n.textContent = text || "";
        n.hidden = !text;
        n.classList.toggle("done", !!done);
      }

      async function load(at) {
        const q = "/api/state?by=" + encodeURIComponent(reviewer) + (at == null ? "" : "&at=" + at);
        const response = await fetch(q, { cache: "no-store" });
        const body = await response.json();
        if (!response.ok) { showNotice(body.error || ("error " + response.status)); return; }
        render(body);
      }

      async function post(command) {
        if (busy) return;
        busy = true;
        setButtons();
        command.by = reviewer;
        command.nonce = nonce();
        try {
          const response = await fetch("/api/decide", {
            method: "POST", cache: "no-store",
            headers: { "Content-Type": "application/json", "X-Review-Token": token },
            body: JSON.stringify(command),
          });
          const body = await response.json();
          if (!response.ok) {
            showNotice(body.error || ("error " + response.status));
            busy = false;
            await load(null);
            return;
          }
          busy = false;
          render(body);
        } catch (e) {
          busy = false;
          showNotice("the server did not answer (" + e + "); the last decision may not be saved; reload the page");
          setButtons();
        }
      }

      function decide(decision) {
        if (!state || !state.item) return;
        const item = state.item;
        const action = state.revisiting ? "revise" : "decide";
        post({ action: action, decision: decision, position: item.position, candidate: item.candidate });
      }

      function undo() {
        if (!state || state.position === 0) return;
        post({ action: "undo", position: state.position });
      }

      function setButtons() {
        const canDecide = !!(state && state.item) && !busy;
        $("btn-accept").disabled = !canDecide;
        $("btn-reject").disabled = !canDecide;
        $("btn-skip").disabled = !canDecide;
        $("btn-undo").disabled = busy || !state || state.position === 0;
        $("btn-back").hidden = !(state && state.revisiting);
      }

      function drawOverlay(source, mask, canvas) {
        const w = source.naturalWidth, h = source.naturalHeight;
        canvas.width = w; canvas.height = h;
        const ctx = canvas.getContext("2d");
        ctx.drawImage(source, 0, 0);
        const m = document.createElement("canvas");
        m.width = w; m.height = h;
        const mctx = m.getContext("2d", { willReadFrequently: true });
        mctx.drawImage(mask, 0, 0, w, h);
        const mp = mctx.getImageData(0, 0, w, h).data;
        const img = ctx.getImageData(0, 0, w, h);
        const p = img.data;
        for (let i = 0; i < p.length; i += 4) {
          if (mp[i] >= 128) {
            p[i] = (p[i] + 255) >> 1; p[i + 1] = p[i + 1] >> 1; p[i + 2] = p[i + 2] >> 1;
          }
        }
        ctx.putImageData(img, 0, 0);
      }

      function zoomRect(item) {
        const b = item.box || { x: 0, y: 0, width: item.width, height: item.height };
        const side = Math.min(Math.max(b.width, b.height) * 1.6 + 16, Math.max(item.width, item.height));
        let x = Math.round(b.x + b.width / 2 - side / 2), y = Math.round(b.y + b.height / 2 - side / 2);
        const w = Math.min(Math.round(side), item.width), h = Math.min(Math.round(side), item.height);
        x = Math.max(0, Math.min(x, item.width - w)); y = Math.max(0, Math.min(y, item.height - h));
        return { x: x, y: y, width: w, height: h };
      }

      function drawZoom(image, canvas, r, box) {
        const scale = Math.max(1, Math.floor(512 / Math.max(r.width, r.height)));
        canvas.width = r.width * scale; canvas.height = r.height * scale;
        const ctx = canvas.getContext("2d");
        ctx.imageSmoothingEnabled = scale === 1;
        ctx.drawImage(image, r.x, r.y, r.width, r.height, 0, 0, canvas.width, canvas.height);
        if (box) {
          ctx.strokeStyle = "rgba(255, 80, 80, 0.9)";
          ctx.lineWidth = Math.max(1, scale / 2);
          ctx.strokeRect((box.x - r.x) * scale, (box.y - r.y) * scale, box.width * scale, box.height * scale);
        }
      }

      function loaded(img, src) {
        return new Promise((resolve) => {
          if (img.dataset.src === src && img.complete && img.naturalWidth > 0) { resolve(); return; }
          img.onload = () => resolve();
          img.onerror = () => resolve();
          img.dataset.src = src;
          img.src = src;
        });
      }

      async function showItem(item) {
        const source = $("img-source"), result = $("img-result"), mask = $("img-mask");
        document.body.dataset.ready = "0";
        await Promise.all([
          loaded(source, "/image/" + item.source),
          loaded(result, "/image/" + item.result),
          loaded(mask, "/image/" + item.mask),
        ]);
        if (!state || !state.item || state.item.candidate !== item.candidate || state.item.position !== item.position) return;
        drawOverlay(source, mask, $("canvas-overlay"));
        const r = zoomRect(item);
        drawZoom(source, $("zoom-source"), r, item.box);
        drawZoom(result, $("zoom-result"), r, null);
        document.body.dataset.ready = "1";
      }

      function render(s) {
        state = s;
        const body = document.body;
        body.dataset.position = String(s.position);
        body.dataset.done = String(s.done);
        body.dataset.candidate = s.item ? String(s.item.candidate) : "";
        body.dataset.revisiting = s.revisiting ? "1" : "0";
        $("progress").textContent = s.done + " / " + s.total + " decided: " + s.accepted + " accepted, " + s.rejected +
          " rejected, " + s.skipped + " skipped; accept rate " + percent(s.acceptRate);
        $("bar-fill").style.width = (s.total ? (100 * s.done / s.total) : 0) + "%";
        const title = $("title");
        title.textContent = "";
        if (s.item) {
          const it = s.item;
          const t = document.createElement("span");
          t.textContent = "#" + it.candidate + "  " + it.pair + "  (" + it.dataset + ", " + it.model +
            (it.round == null ? "" : ", round " + it.round) + ")  " + it.width + "x" + it.height;
          title.appendChild(t);
          if (it.score != null) {
            const sc = document.createElement("span");
            sc.className = "score";
            sc.id = "score";
            sc.textContent = "score " + it.score.toFixed(3) + (s.scoreName ? " (" + s.scoreName + ")" : "");
            title.appendChild(sc);
          }
          if (s.revisiting) {
            const was = document.createElement("span");
            was.className = "was";
            was.textContent = "revisiting decision " + (it.position + 1) + ": " + it.decision;
            title.appendChild(was);
          }
          showNotice(s.revisiting ? "Revisiting: a / r / s change this decision, Esc goes back to the queue." : "");
          showItem(it);
        } else {
          showNotice("All " + s.total + " candidates decided. Press u to undo the last decision, or click one on the right to revisit it.", true);
          body.dataset.ready = "1";
        }
        const list = $("decisions");
        list.textContent = "";
        for (const d of s.decisions) {
          const li = document.createElement("li");
          const b = document.createElement("button");
          b.type = "button";
          b.dataset.position = String(d.position);
          const mark = document.createElement("span");
          mark.className = "d-" + d.decision;
          mark.textContent = d.decision;
          b.appendChild(document.createTextNode((d.position + 1) + ". #" + d.candidate + " " + d.pair + " "));
          b.appendChild(mark);
          b.addEventListener("click", () => { if (!busy) load(d.position); });
          li.appendChild(b);
          list.appendChild(li);
        }
        const tbody = $("agreement").querySelector("tbody");
        tbody.textContent = "";
        for (const a of s.agreement) {
          const tr = document.createElement("tr");
          const cells = [a.first + " / " + a.second, String(a.n), a.percent.toFixed(1) + "%", a.kappa == null ? "undefined" : a.kappa.toFixed(2)];
          cells.forEach((text, k) => {
            const td = document.createElement("td");
            td.textContent = text;
            if (k > 0) td.className = "num";
            tr.appendChild(td);
          });
          tbody.appendChild(tr);
        }
        $("agreement-empty").hidden = s.agreement.length > 0;
        setButtons();
        // Load the next candidate's images now, so that it shows at once (they are cached: immutable by hash).
        for (const hash of s.upcoming || []) { const img = new Image(); img.src = "/image/" + hash; }
      }

      document.addEventListener("keydown", (e) => {
        if (e.ctrlKey || e.metaKey || e.altKey) return;
        const k = e.key.toLowerCase();
        if (k === "a" || k === "y") decide("accept");
        else if (k === "r" || k === "n") decide("reject");
        else if (k === "s" || k === " ") decide("skip");
        else if (k === "u") undo();
        else if (k === "escape") { if (state && state.revisiting) load(null); }
        else return;
        e.preventDefault();
      });
      $("btn-accept").addEventListener("click", () => decide("accept"));
      $("btn-reject").addEventListener("click", () => decide("reject"));
      $("btn-skip").addEventListener("click", () => decide("skip"));
      $("btn-undo").addEventListener("click", () => undo());
      $("btn-back").addEventListener("click", () => load(null));
      load(null);
    })();
    """#
}
