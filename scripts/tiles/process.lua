-- Ruta's tilemaker profile (tilemaker 2.2 API): a small basemap for the dispatcher's map view.
-- Layers: roads (by class), railway, water, waterway, landuse (green/park/other), building,
-- place (names). Data (c) OpenStreetMap contributors, ODbL 1.0.

node_keys = { "place" }

local PLACE_MINZOOM = { city = 10, town = 10, suburb = 12, quarter = 13, neighbourhood = 14, island = 13 }

function init_function() end
function exit_function() end

function node_function(node)
	local place = node:Find("place")
	local mz = PLACE_MINZOOM[place]
	if mz ~= nil and node:Find("name") ~= "" then
		node:Layer("place", false)
		node:MinZoom(mz)
		node:Attribute("class", place)
		node:Attribute("name", node:Find("name"))
	end
end

-- highway value -> {class, minzoom}
local ROADS = {
	motorway = { "motorway", 10 }, motorway_link = { "motorway", 12 },
	trunk = { "trunk", 10 }, trunk_link = { "trunk", 12 },
	primary = { "primary", 10 }, primary_link = { "primary", 12 },
	secondary = { "secondary", 11 }, secondary_link = { "secondary", 12 },
	tertiary = { "tertiary", 12 }, tertiary_link = { "tertiary", 13 },
	residential = { "minor", 13 }, unclassified = { "minor", 13 }, living_street = { "minor", 13 },
	road = { "minor", 13 }, pedestrian = { "pedestrian", 13 },
	service = { "service", 14 },
	footway = { "path", 14 }, path = { "path", 14 }, cycleway = { "path", 14 }, steps = { "path", 14 },
	track = { "path", 14 }, bridleway = { "path", 14 },
}

local GREEN = {
	park = true, garden = true, grass = true, meadow = true, recreation_ground = true,
	forest = true, wood = true, village_green = true, cemetery = true, allotments = true,
	nature_reserve = true, scrub = true, heath = true, playground = true, pitch = true,
	golf_course = true,
}

function way_function(way)
	local highway = way:Find("highway")
	local railway = way:Find("railway")
	local waterway = way:Find("waterway")
	local natural = way:Find("natural")
	local landuse = way:Find("landuse")
	local leisure = way:Find("leisure")
	local building = way:Find("building")
	local closed = way:IsClosed()

	local road = ROADS[highway]
	if road ~= nil and way:Find("area") ~= "yes" then
		way:Layer("roads", false)
		way:MinZoom(road[2])
		way:Attribute("class", road[1])
		local name = way:Find("name")
		if name ~= "" then way:Attribute("name", name) end
		if way:Find("bridge") ~= "" and way:Find("bridge") ~= "no" then way:AttributeNumeric("bridge", 1) end
		if way:Find("tunnel") ~= "" and way:Find("tunnel") ~= "no" then way:AttributeNumeric("tunnel", 1) end
		return
	end

	if railway == "rail" or railway == "tram" or railway == "subway" or railway == "light_rail" then
		way:Layer("railway", false)
		way:Attribute("class", railway)
		return
	end

	if waterway == "river" or waterway == "stream" or waterway == "canal" then
		way:Layer("waterway", false)
		way:Attribute("class", waterway)
		return
	end

	if not closed then return end

	if natural == "water" or natural == "bay" or landuse == "reservoir" or landuse == "basin"
		or waterway == "riverbank" or waterway == "dock" then
		way:Layer("water", true)
		return
	end

	if building ~= "" and building ~= "no" then
		way:Layer("building", true)
		return
	end

	local green = GREEN[leisure] or GREEN[landuse] or GREEN[natural]
	if green then
		way:Layer("landuse", true)
		way:Attribute("class", "green")
		return
	end
	if natural == "beach" or natural == "sand" then
		way:Layer("landuse", true)
		way:Attribute("class", "sand")
		return
	end
	if landuse == "industrial" or landuse == "railway" or landuse == "commercial" or landuse == "retail" then
		way:Layer("landuse", true)
		way:MinZoom(12)
		way:Attribute("class", landuse)
	end
end
