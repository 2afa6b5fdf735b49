// hotline agent workspace: keyboard shortcuts, seeking from the transcript,
// live queue updates. Everything works without it, only slower.
(function () {
  "use strict";
  var player = document.getElementById("player");
  var typing = function (e) {
    var t = e.target;
    return t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT" || t.tagName === "SELECT" || t.isContentEditable);
  };
  var submit = function (action) {
    var form = document.getElementById("edit");
    var button = form && form.querySelector('button[value="' + action + '"]');
    if (button) { button.click(); }
  };
  document.addEventListener("keydown", function (e) {
    var key = e.key.toLowerCase();
    if (e.ctrlKey && key === "enter") { e.preventDefault(); submit("confirm"); return; }
    // Rejecting asks for the reason first: the choice gets the focus, Enter
    // in it (or in "duplicate of") rejects.
    var reason = document.getElementById("reason");
    if (e.ctrlKey && e.shiftKey && key === "x" && reason) {
      e.preventDefault();
      reason.scrollIntoView({ block: "center" });
      reason.focus();
      return;
    }
    if (key === "enter" && !e.ctrlKey && (e.target.id === "reason" || e.target.id === "duplicate_of")) {
      e.preventDefault(); submit("reject"); return;
    }
    var undo = document.getElementById("undo");
    if (e.ctrlKey && key === "z" && undo && !typing(e)) { e.preventDefault(); undo.click(); return; }
    if (e.altKey && player) {
      if (key === "k") { e.preventDefault(); if (player.paused) { player.play(); } else { player.pause(); } return; }
      if (key === "j") { e.preventDefault(); player.currentTime = Math.max(0, player.currentTime - 5); return; }
      if (key === "l") { e.preventDefault(); player.currentTime = player.currentTime + 5; return; }
    }
    if (typing(e) || e.altKey || e.ctrlKey || e.metaKey) { return; }
    if (key === "n" || key === "p") {
      var link = document.getElementById(key === "n" ? "next" : "prev");
      if (link) { e.preventDefault(); window.location = link.href; }
    }
  });
  document.querySelectorAll(".cand").forEach(function (b) {
    b.addEventListener("click", function () {
      var field = document.getElementById("address");
      if (field) { field.value = b.dataset.address; field.focus(); }
    });
  });
  // The undo button goes when the server would refuse it.
  var undoForm = document.getElementById("undo-form");
  if (undoForm) {
    window.setTimeout(function () { undoForm.remove(); }, Number(undoForm.dataset.leftMs) || 0);
  }
  var suggest = document.getElementById("suggest");
  if (suggest) {
    suggest.addEventListener("click", function () {
      var field = document.getElementById("category");
      if (field) { field.value = suggest.dataset.category; field.focus(); }
      suggest.setAttribute("aria-pressed", "true");
    });
  }
  document.querySelectorAll(".seg").forEach(function (seg) {
    seg.addEventListener("click", function () {
      var target = document.getElementById(seg.dataset.player || "player") || player;
      if (!target) { return; }
      target.currentTime = Number(seg.dataset.start) / 1000;
      target.play();
    });
  });
  if (player) {
    player.addEventListener("timeupdate", function () {
      var ms = player.currentTime * 1000;
      var segs = document.querySelectorAll(".seg");
      segs.forEach(function (seg, i) {
        var next = segs[i + 1];
        var on = ms >= Number(seg.dataset.start) && (!next || ms < Number(next.dataset.start));
        seg.classList.toggle("playing", on);
      });
    });
  }
  if (window.EventSource && document.body.dataset.csrf) {
    var first = true;
    var source = new EventSource("/events");
    // A page left (or kept in the back-forward cache) frees its connection.
    window.addEventListener("pagehide", function () { source.close(); });
    source.addEventListener("queue", function (ev) {
      var data = JSON.parse(ev.data);
      var badge = document.getElementById("draft-count");
      if (badge) { badge.textContent = data.drafts; }
      var urgent = document.getElementById("urgent-count");
      if (urgent) {
        urgent.querySelector("strong").textContent = data.urgent;
        urgent.hidden = !data.urgent;
      }
      if (first) { first = false; return; }
      var live = document.getElementById("live");
      if (live) { live.hidden = false; }
    });
  }
})();
