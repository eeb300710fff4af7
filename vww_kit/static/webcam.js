// vww_kit SimulatorWidget, browser half (anywidget ES module).
// Opens the webcam, sends frames to Python as JPEG bytes (comm buffers, one frame in flight at a time), and draws
// what Python sends back: the annotated frame, the board's input, the label, a score bar and the score history.
// Closing the widget stops every camera track (render returns the clean-up function).

// Live camera tracks of all vww_kit widgets on the page: lets a test check that closing releases the camera.
const LIVE = (globalThis.__vww_kit_tracks ??= { live: 0 });

const MESSAGES = {
  unavailable: "This page cannot use a camera: the browser gives no getUserMedia here (a notebook must be served " +
    "over https or from localhost, and VS Code notebooks give widgets no camera).",
  denied: "Camera permission denied. Allow the camera for this page (camera icon in the address bar) and run the " +
    "cell again.",
  absent: "No camera found. Connect one and run the cell again.",
  busy: "The camera is in use by another program (or another tab). Close it and run the cell again.",
};

function el(tag, cls, parent, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function cameraError(e) {
  const n = (e && e.name) || "";
  if (n === "NotAllowedError" || n === "SecurityError" || n === "PermissionDeniedError") return "denied";
  if (n === "NotFoundError" || n === "OverconstrainedError" || n === "DevicesNotFoundError") return "absent";
  if (n === "NotReadableError" || n === "TrackStartError" || n === "AbortError") return "busy";
  return "error";
}

function render({ model, el: host }) {
  const root = el("div", "vww-sim", host);
  const left = el("div", "vww-left", root), right = el("div", "vww-right", root);
  const message = el("div", "vww-message", left);
  const sampleBtn = el("button", "vww-sample", left, "Use the sample video instead");
  sampleBtn.hidden = true;
  const frameImg = el("img", "vww-frame", left);
  frameImg.alt = "camera frame with the board's decision";

  const label = el("div", "vww-label", right, "waiting for frames");
  const viewBox = el("div", "vww-viewbox", right);
  const viewImg = el("img", "vww-view", viewBox);
  viewImg.alt = "what the board's model sees";
  frameImg.hidden = viewImg.hidden = true;   // no broken-image icons before the first frame
  const viewCaption = el("div", "vww-caption", viewBox, "board input");
  const bar = el("div", "vww-bar", right);
  const fill = el("div", "vww-fill", bar), tick = el("div", "vww-tick", bar);
  const hist = el("canvas", "vww-history", right);
  hist.width = 260; hist.height = 76;
  const stats = el("div", "vww-stats", right);

  const controls = el("div", "vww-controls", right);
  const row1 = el("div", null, controls), row2 = el("div", null, controls), row3 = el("label", null, controls);
  el("span", null, row1, "threshold ");
  const thr = el("input", "vww-threshold", row1);
  Object.assign(thr, { type: "range", min: 0.05, max: 0.95, step: 0.05 });
  const thrText = el("span", null, row1);
  el("span", null, row2, "person when ");
  const nIn = el("input", "vww-n", row2);
  el("span", null, row2, " of the last ");
  const mIn = el("input", "vww-m", row2);
  el("span", null, row2, " frames reach it");
  for (const i of [nIn, mIn]) Object.assign(i, { type: "number", min: 1, max: 10, step: 1 });
  const rate = el("input", "vww-rate", row3);
  rate.type = "checkbox";
  el("span", null, row3, " keep the board's pace (estimated latency)");

  const buttons = el("div", "vww-buttons", right);
  const saveP = el("button", "vww-save-person", buttons, "Save frame as person");
  const saveN = el("button", "vww-save-no-person", buttons, "Save frame as no_person");
  const savedText = el("div", "vww-saved", right);

  const video = document.createElement("video");
  video.muted = true; video.playsInline = true; video.autoplay = true;
  const canvas = document.createElement("canvas");

  let stream = null, timer = null, closed = false, inflight = 0, starting = false;
  const urls = new Map();

  function setCamera(state, text) {
    model.set("camera", state);
    if (text !== undefined) model.set("message", text);
    model.save_changes();
  }

  function stopCamera() {
    if (timer) clearTimeout(timer);
    timer = null;
    if (stream) {
      for (const t of stream.getTracks()) { if (t.readyState !== "ended") LIVE.live -= 1; t.stop(); }
      stream = null;
    }
    video.srcObject = null;
    inflight = 0;
  }

  async function startCamera() {
    if (stream || starting || closed) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      setCamera("unavailable", MESSAGES.unavailable); sampleBtn.hidden = false; return;
    }
    starting = true;
    setCamera("starting", "");
    let s;
    try {
      s = await navigator.mediaDevices.getUserMedia({
        audio: false, video: { width: { ideal: 640 }, height: { ideal: 480 } },
      });
    } catch (e) {
      starting = false;
      const kind = cameraError(e);
      if (!closed) {
        setCamera(kind, MESSAGES[kind] || `Camera error: ${e && e.name}: ${e && e.message}`);
        sampleBtn.hidden = false;
      }
      return;
    }
    starting = false;
    LIVE.live += s.getTracks().length;
    if (closed || model.get("source") !== "webcam") {  // closed or switched while the browser was asking
      for (const t of s.getTracks()) { t.stop(); LIVE.live -= 1; }
      return;
    }
    stream = s;
    video.srcObject = s;
    try { await video.play(); } catch (e) { /* autoplay of a muted video is allowed; frames come anyway */ }
    sampleBtn.hidden = true;
    setCamera("on", "");
    timer = setTimeout(grab, 0);
  }

  async function grab() {
    timer = null;
    if (closed || !stream) return;
    const now = performance.now();
    // one frame in flight: wait for Python's answer (or give up on it after 5 s)
    if ((inflight && now - inflight < 5000) || video.readyState < 2 || !video.videoWidth) {
      timer = setTimeout(grab, 15); return;
    }
    const w = Math.min(model.get("width"), video.videoWidth);
    const h = Math.round((w * video.videoHeight) / video.videoWidth);
    canvas.width = w; canvas.height = h;
    canvas.getContext("2d").drawImage(video, 0, 0, w, h);
    const blob = await new Promise((r) => canvas.toBlob(r, "image/jpeg", model.get("quality")));
    if (closed || !stream) return;
    if (blob) {
      const buf = await blob.arrayBuffer();
      inflight = performance.now();
      model.send({ type: "frame", t: now / 1000 }, undefined, [buf]);
    }
    const due = 1000 / Math.max(0.1, model.get("fps"));
    timer = setTimeout(grab, Math.max(0, due - (performance.now() - now)));
  }

  function setImage(img, key, type, seq) {
    const data = model.get(key);
    if (!data || !data.byteLength) return;
    const url = URL.createObjectURL(new Blob([data], { type }));
    img.onload = () => {
      img.hidden = false;
      img.dataset.seq = seq;
      const old = urls.get(key);
      if (old && old !== url) URL.revokeObjectURL(old);
      urls.set(key, url);
    };
    img.src = url;
  }

  function drawHistory(scores, threshold) {
    // score (0-1) of the last 100 frames against time, with its axes: y ticks at 0, the threshold and 1; x from
    // "100 frames ago" to "now"
    const c = hist.getContext("2d"), W = hist.width, H = hist.height;
    const L = 30, R = W - 4, T = 5, B = H - 14, y = (s) => B - s * (B - T);
    c.clearRect(0, 0, W, H);
    c.fillStyle = "#222"; c.fillRect(L, T, R - L, B - T);
    c.font = "9px sans-serif"; c.fillStyle = "#555"; c.textBaseline = "middle"; c.textAlign = "right";
    for (const [v, txt] of [[0, "0"], [1, "1"], [threshold, threshold.toFixed(2)]]) c.fillText(txt, L - 3, y(v));
    c.save(); c.translate(7, (T + B) / 2); c.rotate(-Math.PI / 2); c.textAlign = "center"; c.fillText("score", 0, 0); c.restore();
    c.textBaseline = "top"; c.textAlign = "left"; c.fillText("100 frames ago", L, B + 2);
    c.textAlign = "right"; c.fillText("now", R, B + 2);
    c.strokeStyle = "#e33"; c.beginPath(); c.moveTo(L, y(threshold)); c.lineTo(R, y(threshold)); c.stroke();
    c.strokeStyle = "#fff"; c.beginPath();
    const n = 100;
    scores.forEach((s, i) => {
      const x = L + ((n - scores.length + i) / (n - 1)) * (R - L);
      i ? c.lineTo(x, y(s)) : c.moveTo(x, y(s));
    });
    c.stroke();
  }

  function show() {
    inflight = 0;
    const r = model.get("record") || {};
    if (r.seq === undefined) return;
    setImage(frameImg, "frame", "image/jpeg", r.seq);
    setImage(viewImg, "view", "image/png", r.seq);
    label.textContent = r.detected ? "person" : "no person";
    label.dataset.seq = r.seq;
    label.dataset.score = r.score;
    label.className = "vww-label " + (r.detected ? "vww-on" : "vww-off");
    fill.style.width = `${Math.round(100 * r.score)}%`;
    fill.className = "vww-fill " + (r.detected ? "vww-on" : "vww-off");
    tick.style.left = `${Math.round(100 * r.threshold)}%`;
    viewCaption.textContent = `board input ${r.input}`;
    drawHistory(model.get("history") || [], r.threshold);
    stats.textContent =
      `score ${r.score.toFixed(2)} (${r.votes}/${r.m} frames >= ${r.threshold})` + (r.ran ? "" : ", board busy") +
      ` | host ${r.host_fps ? r.host_fps.toFixed(1) + " fps, " : ""}${r.host_ms.toFixed(1)} ms (${r.runtime})` +
      ` | ${r.board} ~${Math.round(r.board_ms)} ms (estimate)`;
  }

  function showControls() {
    thr.value = model.get("threshold"); thrText.textContent = ` ${(+model.get("threshold")).toFixed(2)}`;
    nIn.value = model.get("n"); mIn.value = model.get("m"); rate.checked = model.get("board_rate");
  }
  function showSaved() {
    const s = model.get("saved") || {};
    savedText.textContent = `saved: ${s.person || 0} person, ${s.no_person || 0} no_person in ${model.get("dataset_dir")}/`;
  }
  function showMessage() {
    message.textContent = model.get("message");
    message.hidden = !model.get("message");
  }
  function onSource() {
    if (model.get("source") === "webcam") startCamera();
    else { stopCamera(); sampleBtn.hidden = true; }
  }

  const set = (k, v) => { model.set(k, v); model.save_changes(); };
  thr.addEventListener("input", () => set("threshold", +thr.value));
  nIn.addEventListener("change", () => set("n", Math.max(1, parseInt(nIn.value) || 1)));
  mIn.addEventListener("change", () => set("m", Math.max(1, parseInt(mIn.value) || 1)));
  rate.addEventListener("change", () => set("board_rate", rate.checked));
  saveP.addEventListener("click", () => model.send({ type: "save", label: "person" }));
  saveN.addEventListener("click", () => model.send({ type: "save", label: "no_person" }));
  sampleBtn.addEventListener("click", () => { stopCamera(); sampleBtn.hidden = true; model.send({ type: "use_sample" }); });

  const handlers = [
    ["change:record", show], ["change:threshold change:n change:m change:board_rate", showControls],
    ["change:saved", showSaved], ["change:message", showMessage], ["change:source", onSource],
  ];
  for (const [ev, fn] of handlers) model.on(ev, fn);
  showControls(); showSaved(); showMessage(); show(); onSource();

  return () => {
    closed = true;
    stopCamera();
    for (const [ev, fn] of handlers) model.off(ev, fn);
    for (const u of urls.values()) URL.revokeObjectURL(u);
  };
}

export default { render };
