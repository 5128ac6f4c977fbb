// Atelier Kotone — the page's own script (plain JS, no build step).
// 1. Clicks on [data-take] / [data-pick] / [data-buy] become events for the app, through
//    hidden textboxes (#k-act-take, #k-act-pick, #k-act-buy) whose "input" the app listens to.
// 2. The piano roll: every .k-roll holds its notes as JSON (data-roll); a canvas draws them, a playhead
//    follows the roll's <audio> element, sounding notes light up, legend chips hide tracks.
(function () {
  "use strict";
  if (window.__kotone) return;
  window.__kotone = true;

  function send(id, value) {
    const box = document.querySelector("#" + id + " textarea, #" + id + " input");
    if (!box) return;
    box.value = value + "#" + Date.now();
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function toTabs() {  // a new screen (request taken, song composed) starts at the top of the tabs
    const tabs = document.querySelector("#k-tabs");
    if (tabs && tabs.getBoundingClientRect().top < 0) tabs.scrollIntoView({ block: "start" });
  }

  document.addEventListener("click", function (ev) {
    const t = ev.target.closest("[data-take],[data-pick],[data-buy],[data-example],[data-roll-track],[data-locked]");
    if (!t) return;
    if (t.dataset.buy) { ev.stopPropagation(); send("k-act-buy", t.dataset.buy); return; }
    if (t.dataset.take) { send("k-act-take", t.dataset.take); setTimeout(toTabs, 250); return; }
    if (t.dataset.pick) { send("k-act-pick", t.dataset.pick); return; }
    if (t.dataset.locked) { send("k-act-pick", t.dataset.locked); return; }
    if (t.dataset.example) {
      const box = document.querySelector("#k-refine textarea, #k-refine input");
      if (box) { box.value = t.dataset.example; box.dispatchEvent(new Event("input", { bubbles: true })); box.focus(); }
      return;
    }
    if (t.dataset.rollTrack !== undefined) {
      const roll = t.closest(".k-roll");
      if (roll && roll.__kotone) roll.__kotone.toggle(parseInt(t.dataset.rollTrack, 10), t);
    }
  });

  // A/B players: playing one pauses the others in the same group.
  document.addEventListener("play", function (ev) {
    const group = ev.target.closest && ev.target.closest(".k-ab");
    if (!group) return;
    group.querySelectorAll("audio").forEach(function (a) { if (a !== ev.target) a.pause(); });
  }, true);

  // ---- the piano roll -----------------------------------------------------------------
  function Roll(el, data) {
    this.el = el;
    this.data = data;
    this.canvas = el.querySelector("canvas.k-roll-canvas");
    this.head = el.querySelector(".k-playhead");
    this.audio = el.querySelector("audio.k-player");
    this.hidden = new Set();
    this.base = document.createElement("canvas");
    this.raf = 0;
    const pitched = [];
    data.tracks.forEach(function (t, i) { if (!t.drum) t.notes.forEach(function (n) { pitched.push(n[2]); }); });
    this.lo = pitched.length ? Math.min.apply(null, pitched) - 2 : 48;
    this.hi = pitched.length ? Math.max.apply(null, pitched) + 2 : 84;
    const self = this;
    if (this.audio) {
      ["play", "playing"].forEach(function (n) { self.audio.addEventListener(n, function () { self.loop(); }); });
      ["pause", "ended"].forEach(function (n) { self.audio.addEventListener(n, function () { self.stop(); }); });
      ["seeked", "timeupdate"].forEach(function (n) {
        self.audio.addEventListener(n, function () { if (!self.raf) self.frame(); });
      });
    }
    this.canvas.addEventListener("click", function (ev) {
      if (!self.audio) return;
      const r = self.canvas.getBoundingClientRect();
      self.audio.currentTime = Math.max(0, (ev.clientX - r.left) / r.width * self.data.duration);
    });
    if (window.ResizeObserver) new ResizeObserver(function () { self.layout(); }).observe(this.canvas);
    this.layout();
    if (window.parent !== window && data.song) {
      try { window.parent.postMessage({ queryString: "?song=" + data.song }, "https://huggingface.co"); } catch (e) { /* not on a Space */ }
    }
  }

  Roll.prototype.layout = function () {
    const w = this.canvas.clientWidth || 600;
    const h = w < 560 ? 220 : 300;
    const dpr = window.devicePixelRatio || 1;
    this.w = w; this.h = h; this.dpr = dpr;
    this.drumH = this.data.tracks.some(function (t) { return t.drum && t.notes.length; }) ? Math.round(h * 0.16) : 0;
    this.topH = 16;
    [this.canvas, this.base].forEach(function (c) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); });
    this.canvas.style.height = h + "px";
    this.drawBase();
    this.frame();
  };

  Roll.prototype.x = function (t) { return t / this.data.duration * this.w; };
  Roll.prototype.y = function (p) {
    const span = this.h - this.topH - this.drumH;
    return this.topH + (this.hi - p) / (this.hi - this.lo) * span;
  };

  Roll.prototype.noteRect = function (t, n) {
    const x0 = this.x(n[0]);
    const w = Math.max(1.5, this.x(n[1]) - x0);
    if (t.drum) {
      const lane = n[2] <= 36 ? 0 : n[2] <= 40 ? 1 : 2;
      const lh = this.drumH / 3;
      return [x0, this.h - this.drumH + lane * lh + 1, Math.max(2, Math.min(w, 4)), lh - 2];
    }
    const rowH = Math.max(2, (this.h - this.topH - this.drumH) / (this.hi - this.lo));
    return [x0, this.y(n[2]) - rowH / 2, w, Math.max(2, rowH - 0.5)];
  };

  Roll.prototype.drawBase = function () {
    const g = this.base.getContext("2d");
    const self = this;
    g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    g.fillStyle = "#1c1f2c"; g.fillRect(0, 0, this.w, this.h);
    for (let p = Math.ceil(this.lo); p <= this.hi; p++) {
      if (p % 12 === 0) { g.fillStyle = "rgba(255,255,255,0.10)"; g.fillRect(0, this.y(p), this.w, 1); }
    }
    if (this.drumH) { g.fillStyle = "#171923"; g.fillRect(0, this.h - this.drumH, this.w, this.drumH); }
    g.font = "11px system-ui, sans-serif"; g.textBaseline = "top";
    this.data.sections.forEach(function (s, i) {
      const x = self.x(s[0]);
      g.fillStyle = i % 2 ? "rgba(255,255,255,0.03)" : "rgba(255,255,255,0)";
      const next = i + 1 < self.data.sections.length ? self.x(self.data.sections[i + 1][0]) : self.w;
      g.fillRect(x, 0, next - x, self.h);
      g.fillStyle = "rgba(255,255,255,0.25)"; g.fillRect(x, 0, 1, self.h);
      g.fillStyle = "#cfd5e6"; g.fillText(s[1], x + 4, 2);
    });
    this.data.tracks.forEach(function (t, i) {
      if (self.hidden.has(i)) return;
      g.fillStyle = t.color;
      t.notes.forEach(function (n) {
        g.globalAlpha = 0.35 + 0.55 * (n[3] / 127);
        const r = self.noteRect(t, n);
        g.fillRect(r[0], r[1], r[2], r[3]);
      });
    });
    g.globalAlpha = 1;
  };

  Roll.prototype.frame = function () {
    const g = this.canvas.getContext("2d");
    const now = this.audio ? this.audio.currentTime || 0 : 0;
    const self = this;
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.drawImage(this.base, 0, 0);
    g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    if (now > 0) {
      g.fillStyle = "rgba(255,255,255,0.06)"; g.fillRect(0, 0, this.x(now), this.h);
      this.data.tracks.forEach(function (t, i) {
        if (self.hidden.has(i)) return;
        t.notes.forEach(function (n) {
          if (n[0] <= now && now < n[1]) {
            const r = self.noteRect(t, n);
            g.fillStyle = "#ffffff"; g.globalAlpha = 0.85;
            g.fillRect(r[0] - 1, r[1] - 1, r[2] + 2, r[3] + 2);
            g.globalAlpha = 1; g.fillStyle = t.color; g.fillRect(r[0], r[1], r[2], r[3]);
          }
        });
      });
    }
    const px = this.x(now);
    this.head.style.transform = "translateX(" + px.toFixed(1) + "px)";
    this.head.dataset.t = now.toFixed(3);
  };

  Roll.prototype.loop = function () {
    const self = this;
    if (this.raf) return;
    const tick = function () { self.frame(); self.raf = self.audio && !self.audio.paused ? requestAnimationFrame(tick) : 0; };
    this.raf = requestAnimationFrame(tick);
  };

  Roll.prototype.stop = function () {
    if (this.raf) cancelAnimationFrame(this.raf);
    this.raf = 0;
    this.frame();
  };

  Roll.prototype.toggle = function (i, chip) {
    if (this.hidden.has(i)) this.hidden.delete(i); else this.hidden.add(i);
    chip.setAttribute("aria-pressed", this.hidden.has(i) ? "false" : "true");
    this.drawBase(); this.frame();
  };

  let lastSong = null;
  function scan() {
    document.querySelectorAll(".k-roll[data-song]").forEach(function (el) {
      const holder = el.querySelector(".k-roll-data");
      const src = holder && holder.dataset.roll;
      if (!src || el.__kotone && el.__kotone.src === src) return;
      try {
        const data = JSON.parse(src);
        if (data.song !== lastSong && lastSong !== null) toTabs();
        lastSong = data.song;
        el.__kotone = new Roll(el, data);
        el.__kotone.src = src;
      } catch (err) { console.error("kotone roll:", err); }
    });
  }

  let pending = 0;
  function schedule() { if (!pending) pending = requestAnimationFrame(function () { pending = 0; scan(); }); }
  function start() {
    new MutationObserver(schedule).observe(document.body, { childList: true, subtree: true, characterData: true });
    scan();
  }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
