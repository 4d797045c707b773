"""What the published raw files are: their sha256 and byte sizes (where a copy
byte-identical to the published file was checked), and the sizes a complete
copy parses to. Data only; the catalog (``gnnkit.datasets.catalog``) uses it."""
from __future__ import annotations

DIGESTS = {  # sha256 of files byte-identical to the published ones
    "ind.cora.allx": "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543",
    "ind.cora.ally": "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71",
    "ind.cora.graph": "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d",
    "ind.cora.test.index": "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875",
    "ind.cora.tx": "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a",
    "ind.cora.ty": "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad",
    "ind.cora.x": "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab",
    "ind.cora.y": "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1",
    "ind.citeseer.allx": "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668",
    "ind.citeseer.ally": "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95",
    "ind.citeseer.graph": "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7",
    "ind.citeseer.test.index": "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4",
    "ind.citeseer.tx": "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21",
    "ind.citeseer.ty": "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce",
    "ind.citeseer.x": "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6",
    "ind.citeseer.y": "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924",
    "facebook/edges.csv": "7c50d8f02a75cc0829577814a1fc14535164daa38d79c3612340c9e9cdbd4022",
    "facebook/target.csv": "95987f6c9246f461511673041c88aa20cbd8596bc52b9688fdaab7bd5a720000",
    "lastfm-asia/edges.csv": "4a6f555d2ccbbbaf1aa4f46b10b0e612aa515730a513d3e1ac951e1e4dcd733c",
    "lastfm-asia/target.csv": "91f19215f6eca8321feec038bd32900cf13fd4f7e041a9976cf202807c72ac16",
    "twitch/edges.csv": "90ab33e0426913171302dee0bdac35322596f07bee7431aeabaca648bdda7245",
    "twitch/features.csv": "904426f583b2636b2a4343606dea35e44bd06cf1baa3c4aa46b7c8cec86f2820",
    "twitch/target.csv": "635c3aedd9865b48baa27aae4f5bc54b913100aee026589ec3a7bb4dcfcc8b44",
    "lastfm/data1.txt": "c82af3228cbbda2f55a39244de09ed93292894f1d0d9f1908ebb57e27598fded",
    "lastfm/test1.txt": "de4417c0e6123284ce59a0934bcf5288ec1ec8774a18a1eef453c9952dfa48f9",
    "lastfm/trustnetwork.txt": "5b5bd7cbe4d22f3cd333dbfc7ec4b995cb2bdb28d95b0e9c5fc5607079f7b69e",
    "gowalla/test.txt": "099a2a73924e4b754dc6efd730d764f492321b53c38eb93298850c83acf57be3",
    "gowalla/user_list.txt": "5344c4d0deef610e1f148f23ad216a0db03b36f88834cd39a06786a672c5f5a1",
    "gowalla/item_list.txt": "6b186f92890cc3f0c15a6dae5d6285f125a302bb8c5ea0cd9a16cf9c16347139",
    # gowalla/train.txt: unknown (the local copy was rebuilt, not byte-identical to the published file)
    # knowledge graphs: identical to the files in PyKEEN's repository and its 1.11.1 wheel on PyPI
    "kinships/train.txt": "738612111a6acf0e39662bde24c7e72a4d1edf20931beea077da367dda689731",
    "kinships/valid.txt": "c56f8630a583178b1e569f11a64aa535ae1ce0b0912d8b1e24716be2b37f04da",
    "kinships/test.txt": "05e5733265761d55be9c05bfaff5a8d0808df46f9c1e9d66cc3f2fe114e43d88",
    "nations/train.txt": "0830fa9da8e5bba2ccdaa45b7bdc9130451ba66b09ff2708f35fccaf82473e57",
    "nations/valid.txt": "2b337a62e51a2f45c283eac98a70d21b7e0e102136be1539b2a52c652a7b0530",
    "nations/test.txt": "3971085165b47b6aeaec68058c6d8d98b3005e929db81268410b95ae4db770ab",
    "umls/train.txt": "873ef4925516b83e7f6f8cc02b4be51d848828710a7f65a956f0ac4a9e452f35",
    "umls/valid.txt": "025c98f8a4891e2a6582ec5b40ee0d904031edad9c52554522f4b7904820c98e",
    "umls/test.txt": "a7eb529a3d2810fcc96341ccc97c625a5e202f8389673aa6bd317eeebbb79014",
}
SIZES = {
    "ind.cora.allx": 257305, "ind.cora.ally": 47959, "ind.cora.graph": 59847, "ind.cora.test.index": 5000,
    "ind.cora.tx": 148025, "ind.cora.ty": 28135, "ind.cora.x": 22119, "ind.cora.y": 4054,
    "ind.citeseer.allx": 595021, "ind.citeseer.ally": 55623, "ind.citeseer.graph": 61987,
    "ind.citeseer.test.index": 5000, "ind.citeseer.tx": 260321, "ind.citeseer.ty": 24135,
    "ind.citeseer.x": 31087, "ind.citeseer.y": 3014,
    "facebook/edges.csv": 1882610, "facebook/target.csv": 168660,
    "lastfm-asia/edges.csv": 270443, "lastfm-asia/target.csv": 56482,
    "twitch/edges.csv": 342164, "twitch/features.csv": 1986466, "twitch/target.csv": 48782,
    "lastfm/data1.txt": 579727, "lastfm/test1.txt": 144867, "lastfm/trustnetwork.txt": 249214,
    "gowalla/test.txt": 1372559, "gowalla/user_list.txt": 351203, "gowalla/item_list.txt": 506926,
    "kinships/train.txt": 208710, "kinships/valid.txt": 26088, "kinships/test.txt": 26255,
    "nations/train.txt": 39101, "nations/valid.txt": 4851, "nations/test.txt": 4951,
    "umls/train.txt": 260013, "umls/valid.txt": 32963, "umls/test.txt": 32968,
}


# What a complete, published copy parses to: a truncated or swapped raw file
# that still parses is caught by these counts. Measured on the published
# files (cora ... gowalla) or taken from the papers / PyG (the others; only
# counts that deduplication cannot change). Interactions count every split.
EXPECTED_SIZES: dict[str, dict[str, int]] = {
    "cora": {"num_nodes": 2708, "num_edges": 10556, "num_features": 1433},
    "citeseer": {"num_nodes": 3327, "num_edges": 9104, "num_features": 3703},
    "pubmed": {"num_nodes": 19717, "num_edges": 88648, "num_features": 500},
    "facebook": {"num_nodes": 22470, "num_edges": 341646},
    "lastfm-asia": {"num_nodes": 7624, "num_edges": 55612},
    "twitch": {"num_nodes": 7126, "num_edges": 70648, "num_features": 3170},
    "github": {"num_nodes": 37700, "num_edges": 578006},
    "deezer": {"num_nodes": 28281, "num_edges": 185504},
    "ml-100k": {"num_users": 943, "num_items": 1682, "interactions": 100000},
    "ml-1m": {"num_users": 6040, "num_items": 3706, "interactions": 1000209},
    "ml-latest-small": {"num_users": 610, "num_items": 9724, "interactions": 100836},
    "lastfm": {"num_users": 1892, "num_items": 4489, "interactions": 52668},
    "gowalla": {"num_users": 29858, "num_items": 40981, "interactions": 1027370},
    "yelp2018": {"num_users": 31668, "num_items": 38048},
    "amazon-book": {"num_users": 52643, "num_items": 91599},
    "kinships": {"num_entities": 104, "num_relations": 25, "train": 8544, "valid": 1068, "test": 1074},
    "nations": {"num_entities": 14, "num_relations": 55, "train": 1592, "valid": 199, "test": 201},
    "umls": {"num_entities": 135, "num_relations": 46, "train": 5216, "valid": 652, "test": 661},
}
