// The overview map's noise layer (issue 23): GB 3096-2008 functional zones as polygons in their
// class colour, automatic stations coloured by the verdict of their latest station-day (day and
// night), and the latest month of complaints as points (case candidates as pins), with the
// station list beside the map. Data: /api/v1/noise/map (loaded once).
import { api, escapeHtml, fillTable, fmt, link, markReady, msg } from "./common.js";
import {
  CASE_COLOR, COMPLAINT_COLOR, VERDICT_COLORS, ZONE_COLORS, complaintTip, passText, stationName, stationTip,
  verdictOf,
} from "./noise_common.js";

let layer = null;

function rgba(hex, alpha) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

function rings(geometry) {
  if (geometry.type === "Polygon") return [geometry.coordinates[0]];
  if (geometry.type === "MultiPolygon") return geometry.coordinates.map((polygon) => polygon[0]);
  return [];
}

function zoneSeries(features) {
  return {
    id: "noise-zones",
    name: msg("noise_zone_legend"),
    type: "custom",
    coordinateSystem: "geo",
    silent: false,
    renderItem: (params, apiCoord) => {
      const feature = features[params.dataIndex];
      const color = ZONE_COLORS[feature.properties.zone_class] ?? "#cccccc";
      return {
        type: "group",
        children: rings(feature.geometry).map((ring) => ({
          type: "polygon",
          shape: { points: ring.map((c) => apiCoord.coord(c)) },
          style: { fill: rgba(color, 0.45), stroke: rgba(color, 0.9), lineWidth: 1 },
        })),
      };
    },
    data: features.map((f) => ({ name: f.properties.zone_id, value: f.geometry.coordinates[0][0], zone: f.properties })),
  };
}

function zoneTip(z) {
  const name = document.body.dataset.lang === "zh" ? z.name_zh : z.name_en;
  return `<div class="tip"><h3>${escapeHtml(name ?? z.zone_id)}</h3><div>${msg("noise_class")}: <strong>${escapeHtml(z.zone_class)}</strong></div></div>`;
}

async function noiseData() {
  if (!layer) layer = await api("/noise/map");
  window.ecobasinNoiseData = layer;
  return layer;
}

function fillStations(stations) {
  const tbody = document.querySelector("#noise-station-table tbody");
  fillTable(tbody, stations, (s) => [
    link(`/noise/station/${encodeURIComponent(s.site_id)}`, stationName(s)),
    s.zone_class ?? "—",
    `${fmt(s.Ld, 1)} · ${passText(s.day_pass)}`,
    `${fmt(s.Ln, 1)} · ${passText(s.night_pass)}`,
  ]);
  for (const [i, row] of [...tbody.rows].entries()) row.dataset.siteId = stations[i].site_id;
}

/** Draw the noise layer on the overview map; `tint` shades the city areas. */
export async function renderNoise(map, mapElement, cities, tint) {
  const data = await noiseData();
  const placed = data.stations.filter((s) => s.lon !== null && s.lat !== null);
  map.setOption(
    {
      tooltip: {
        enterable: true,
        formatter: (p) => {
          if (p.componentType === "geo") return escapeHtml(cities.get(p.name)?.name ?? p.name);
          if (p.data?.zone) return zoneTip(p.data.zone);
          if (p.data?.complaint) return complaintTip(p.data.complaint);
          return stationTip(p.data.noiseStation);
        },
      },
      geo: { regions: [...cities.keys()].map((code) => ({ name: code, itemStyle: { areaColor: tint("#d9d9d9", 0.25) } })) },
      series: [
        zoneSeries(data.zones.features),
        {
          id: "noise-stations",
          name: msg("noise_station_list"),
          type: "scatter",
          coordinateSystem: "geo",
          symbolSize: 13,
          z: 4,
          itemStyle: { borderColor: "#222", borderWidth: 1 },
          data: placed.map((s) => ({
            name: stationName(s),
            value: [s.lon, s.lat],
            noiseStation: s,
            itemStyle: { color: VERDICT_COLORS[verdictOf(s)] },
          })),
        },
        {
          id: "noise-complaints",
          name: msg("noise_legend_complaint"),
          type: "scatter",
          coordinateSystem: "geo",
          z: 5,
          data: data.complaints.map((c) => ({
            name: c.complaint_id,
            value: [c.lon, c.lat],
            complaint: c,
            symbol: c.case_candidate ? "pin" : "triangle",
            symbolSize: c.case_candidate ? 16 : 7,
            itemStyle: { color: c.case_candidate ? CASE_COLOR : COMPLAINT_COLOR, opacity: 0.85 },
          })),
        },
      ],
    },
    { replaceMerge: ["series"] },
  );
  mapElement.dataset.noiseStationCount = String(placed.length);
  mapElement.dataset.zoneCount = String(data.zones.features.length);
  mapElement.dataset.complaintCount = String(data.complaints.length);
  mapElement.dataset.layer = "noise";
  mapElement.dataset.time = data.complaint_month ?? "";
  document.getElementById("noise-month").textContent = data.complaint_month ?? "—";
  fillStations(data.stations);
  markReady("map", {}, map);
}
