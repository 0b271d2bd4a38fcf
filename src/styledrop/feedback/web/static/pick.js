// The picking page. The server's manifest is the truth: a click shows the pick at once, sends it
// (one request at a time, in order), then re-reads /api/pool. The page also re-reads every few
// seconds and when the tab gets focus, so two tabs converge on the same picks.
"use strict";

const HUMAN = "human";
const POLL_MS = 3000;
const gallery = document.getElementById("gallery");
const statusLine = document.getElementById("status");
const help = document.getElementById("help");

let builtFor = null; // the image ids the gallery was built for
let target = 10;
let writes = 0; // picks sent so far; a re-read that raced a pick is dropped
let pending = 0; // picks not yet answered
let queue = Promise.resolve();

function say(text, isError = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", isError);
}

function tiles() {
  return Array.from(gallery.querySelectorAll(".tile"));
}

function fileUrl(path) {
  return "/files/" + path.split("/").map(encodeURIComponent).join("/");
}

function scoreLines(image) {
  const scores = Object.entries(image.scores).map(([name, value]) => `${name} ${value.toFixed(3)}`);
  return scores.length ? scores.join("\n") : "no scores yet";
}

function makeTile(image) {
  const tile = document.createElement("button");
  tile.type = "button";
  tile.className = "tile";
  tile.dataset.id = image.id;
  const img = document.createElement("img");
  img.alt = `${image.prompt} (seed ${image.seed})`;
  img.addEventListener("load", () => img.classList.toggle("pixelated", img.naturalWidth < img.width));
  img.src = fileUrl(image.file);
  const parts = [["policies"], ["check", "✓ picked"], ["scores"]].map(([name, text]) => {
    const span = document.createElement("span");
    span.className = name;
    span.textContent = text || "";
    return span;
  });
  tile.append(img, ...parts);
  tile.addEventListener("click", () => toggle(tile));
  return tile;
}

function showTile(tile, image) {
  const picked = image.selected_by.includes(HUMAN);
  const others = image.selected_by.filter((policy) => policy !== HUMAN);
  tile.classList.toggle("picked", picked);
  tile.setAttribute("aria-pressed", String(picked));
  tile.querySelector(".policies").textContent = others.length ? `by ${others.join(", ")}` : "";
  tile.querySelector(".scores").textContent = scoreLines(image);
  tile.title = `${image.prompt}\nseed ${image.seed}\n${scoreLines(image)}` +
    (others.length ? `\nselected by ${others.join(", ")}` : "");
}

function build(images) {
  const sections = new Map();
  gallery.replaceChildren();
  for (const image of images) {
    if (!sections.has(image.prompt)) {
      const section = document.createElement("section");
      section.className = "prompt";
      const heading = document.createElement("h2");
      const count = document.createElement("span");
      count.className = "count";
      heading.append(image.prompt, " ", count);
      const grid = document.createElement("div");
      grid.className = "grid";
      section.append(heading, grid);
      gallery.append(section);
      sections.set(image.prompt, grid);
    }
    sections.get(image.prompt).append(makeTile(image));
  }
}

function showCounts() {
  const picked = gallery.querySelectorAll(".tile.picked").length;
  const counter = document.getElementById("counter");
  counter.textContent = `${picked} picked (the paper picks about ${target})`;
  counter.classList.toggle("enough", picked >= target);
  for (const section of gallery.querySelectorAll("section.prompt")) {
    const here = section.querySelectorAll(".tile.picked").length;
    section.querySelector(".count").textContent = here ? `(${here} picked)` : "";
  }
}

function render(state) {
  target = state.target;
  document.getElementById("next-command").textContent = state.next_command;
  const reference = document.getElementById("reference");
  if (state.reference && !reference.getAttribute("src")) reference.src = fileUrl(state.reference);
  reference.parentElement.hidden = !state.reference;
  const ids = state.images.map((image) => image.id).join("\n");
  if (ids !== builtFor) {
    build(state.images);
    builtFor = ids;
  }
  const byId = new Map(tiles().map((tile) => [tile.dataset.id, tile]));
  for (const image of state.images) showTile(byId.get(image.id), image);
  showCounts();
}

async function refresh() {
  const before = writes;
  try {
    const response = await fetch("/api/pool", { cache: "no-store" });
    if (!response.ok) throw new Error((await response.json()).detail || response.statusText);
    const state = await response.json();
    if (writes === before && pending === 0) render(state);
  } catch (err) {
    say(`cannot read the pool: ${err.message}`, true);
  }
}

async function send(tile, picked) {
  const response = await fetch("/api/pick", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ id: tile.dataset.id, picked }),
  });
  if (!response.ok) throw new Error((await response.json()).detail || response.statusText);
  return response.json();
}

function toggle(tile) {
  const picked = !tile.classList.contains("picked");
  tile.classList.toggle("picked", picked); // show it now; the server's answer confirms it
  tile.setAttribute("aria-pressed", String(picked));
  tile.classList.add("saving");
  showCounts();
  writes += 1;
  pending += 1;
  queue = queue
    .then(() => send(tile, picked))
    .then((image) => {
      showTile(tile, image);
      say(`${picked ? "picked" : "unpicked"} ${image.id} (saved)`);
    })
    .catch((err) => say(`${tile.dataset.id} not saved: ${err.message}`, true))
    .finally(() => {
      pending -= 1;
      if (pending === 0) tiles().forEach((each) => each.classList.remove("saving"));
      return refresh();
    });
}

// The tile nearest to `tile` in the row below (dir 1) or above (dir -1).
function vertical(tile, dir) {
  const here = tile.getBoundingClientRect();
  let best = null;
  let bestKey = null;
  for (const other of tiles()) {
    const box = other.getBoundingClientRect();
    const dy = (box.top - here.top) * dir;
    if (dy <= 1) continue;
    const key = [dy, Math.abs(box.left - here.left)];
    if (!bestKey || key[0] < bestKey[0] - 1 || (Math.abs(key[0] - bestKey[0]) <= 1 && key[1] < bestKey[1])) {
      best = other;
      bestKey = key;
    }
  }
  return best;
}

function move(key) {
  const all = tiles();
  const index = all.indexOf(document.activeElement);
  if (index < 0) return all[0];
  if (key === "ArrowDown" || key === "ArrowUp") return vertical(all[index], key === "ArrowDown" ? 1 : -1);
  const step = key === "ArrowRight" || key === "j" ? 1 : -1;
  return all[index + step];
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "?") {
    help.open ? help.close() : help.showModal();
    event.preventDefault();
    return;
  }
  if (help.open) return;
  const focused = document.activeElement;
  if ((event.key === " " || event.key === "x") && focused && focused.classList.contains("tile")) {
    event.preventDefault(); // space would also click the button and scroll the page
    toggle(focused);
  } else if (["ArrowRight", "ArrowLeft", "ArrowDown", "ArrowUp", "j", "k"].includes(event.key)) {
    event.preventDefault();
    const next = move(event.key);
    if (next) {
      next.focus();
      next.scrollIntoView({ block: "nearest" });
    }
  }
});

document.getElementById("help-button").addEventListener("click", () => help.showModal());
document.getElementById("copy").addEventListener("click", async () => {
  const command = document.getElementById("next-command").textContent;
  try {
    await navigator.clipboard.writeText(command);
    say("copied: " + command);
  } catch (err) {
    say(`cannot copy (${err.message}); select the command and copy it by hand`, true);
  }
});
window.addEventListener("focus", refresh);
document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && refresh());
setInterval(refresh, POLL_MS);
refresh();
