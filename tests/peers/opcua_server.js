// A node-opcua server on 127.0.0.1 for the interoperability tests: an OPC UA stack not written in Python.
//
//   node opcua_server.js PORT PKI_FOLDER
//
// Binds 127.0.0.1 only. Offers SecurityPolicy None and Basic256Sha256 (Sign, SignAndEncrypt).
// Its PKI (own certificate, trusted client certificates) lives in PKI_FOLDER; client
// certificates are accepted automatically, as a commissioning server would be set up.
// Prints "READY <endpoint>" on stdout once it listens; stops on SIGTERM, SIGINT or closed stdin.
"use strict";

const path = require("path");
const {
    OPCUAServer,
    OPCUACertificateManager,
    DataType,
    MessageSecurityMode,
    SecurityPolicy,
    standardUnits,
    Variant,
} = require("node-opcua");

async function main() {
    const port = Number(process.argv[2]);
    const pki = process.argv[3];
    if (!port || !pki) {
        console.error("usage: node opcua_server.js PORT PKI_FOLDER");
        process.exit(2);
    }
    const serverCertificateManager = new OPCUACertificateManager({
        rootFolder: path.join(pki, "server"),
        automaticallyAcceptUnknownCertificate: true,
    });
    await serverCertificateManager.initialize();
    const userCertificateManager = new OPCUACertificateManager({
        rootFolder: path.join(pki, "user"),
        automaticallyAcceptUnknownCertificate: true,
    });
    await userCertificateManager.initialize();

    const server = new OPCUAServer({
        host: "127.0.0.1", // without it node-opcua listens on every interface
        hostname: "127.0.0.1",
        port,
        serverCertificateManager,
        userCertificateManager,
        securityPolicies: [SecurityPolicy.None, SecurityPolicy.Basic256Sha256],
        securityModes: [MessageSecurityMode.None, MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt],
        allowAnonymous: true,
        buildInfo: { productName: "Converge interop peer (node-opcua)" },
        serverInfo: { applicationUri: "urn:converge-hmi:node-opcua-peer" },
    });
    await server.initialize();
    buildPlant(server.engine.addressSpace);
    await server.start();
    console.log(`READY opc.tcp://127.0.0.1:${port}/`);

    let stopping = false;
    const stop = async () => {
        if (stopping) return;
        stopping = true;
        await server.shutdown(0);
        process.exit(0);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    process.stdin.on("end", stop);
    process.stdin.resume();
}

function buildPlant(addressSpace) {
    const namespace = addressSpace.getOwnNamespace();
    const plant = namespace.addFolder(addressSpace.rootFolder.objects, {
        browseName: "Plant",
        nodeId: "s=Plant",
    });
    const analog = (name, dataType, value, low, high, units, writable) =>
        namespace.addAnalogDataItem({
            componentOf: plant,
            browseName: name,
            nodeId: `s=Plant.${name}`,
            dataType,
            engineeringUnitsRange: { low, high },
            engineeringUnits: units,
            accessLevel: writable ? "CurrentRead | CurrentWrite" : "CurrentRead",
            userAccessLevel: writable ? "CurrentRead | CurrentWrite" : "CurrentRead",
            value: new Variant({ dataType: DataType[dataType], value }),
        });
    const plain = (name, dataType, value, writable) =>
        namespace.addVariable({
            componentOf: plant,
            browseName: name,
            nodeId: `s=Plant.${name}`,
            dataType,
            accessLevel: writable ? "CurrentRead | CurrentWrite" : "CurrentRead",
            userAccessLevel: writable ? "CurrentRead | CurrentWrite" : "CurrentRead",
            value: new Variant({ dataType: DataType[dataType], value }),
        });

    analog("Temperature", "Double", 21.5, -50, 150, standardUnits.degree_celsius, false);
    const level = analog("Level", "Float", 40, 0, 100, standardUnits.percent, true);
    plain("SpeedSetpoint", "Int16", 0, true);
    plain("Running", "Boolean", false, true);
    plain("Raw", "Double", 0, true); // no EURange: a percent deadband on it must be refused
    const counter = plain("Counter", "Int32", 0, false);

    // Something that changes on its own, so a subscription has a stream to deliver.
    let count = 0;
    const timer = setInterval(() => {
        count += 1;
        counter.setValueFromSource(new Variant({ dataType: DataType.Int32, value: count }));
    }, 100);
    timer.unref();
    return { level, counter };
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
