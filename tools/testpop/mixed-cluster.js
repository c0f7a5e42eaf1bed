#!/usr/bin/env node
// Mixed cluster check (docs/ringpop.md): N swimring testpop processes and N
// ringpop-node processes on 127.0.0.1 join one cluster through one hosts
// file, converge to one membership, agree on the owner of 10,000 keys, and
// detect a kill -9 of either kind.
//
//   node mixed-cluster.js --testpop=PATH --ringpop-node=DIR [--n=3] [--keys=10000]
//
// DIR is a ringpop-node checkout with its dependencies installed; the
// tchannel module is taken from NODE_PATH (ringpop-common's test/node_modules
// has it). Every wait polls with a deadline; only the processes this script
// started are killed, by pid. Exit 0 when every check passed.
'use strict';

var childProc = require('child_process');
var fs = require('fs');
var net = require('net');
var os = require('os');
var path = require('path');
var TChannel = require('tchannel');

function arg(name, dflt) {
    var pre = '--' + name + '=';
    var hit = process.argv.filter(function (a) { return a.indexOf(pre) === 0; })[0];
    return hit ? hit.slice(pre.length) : dflt;
}

var testpop = arg('testpop');
var rpnode = arg('ringpop-node');
var n = Number(arg('n', '3'));
var nkeys = Number(arg('keys', '10000'));
if (!testpop || !rpnode) {
    console.error('usage: mixed-cluster.js --testpop=PATH --ringpop-node=DIR [--n=3] [--keys=10000]');
    process.exit(2);
}

var procs = [];
var failures = 0;
function check(ok, what) {
    console.log((ok ? 'ok   ' : 'FAIL ') + what);
    if (!ok) { failures++; }
}

function freePort(cb) {
    var srv = net.createServer();
    srv.listen(0, '127.0.0.1', function () {
        var port = srv.address().port;
        srv.close(function () { cb(port); });
    });
}

function freePorts(k, cb, acc) {
    acc = acc || [];
    if (acc.length === k) { return cb(acc); }
    freePort(function (p) {
        if (acc.indexOf(p) < 0) { acc.push(p); }
        freePorts(k, cb, acc);
    });
}

var channel = new TChannel();
var client = channel.makeSubChannel({serviceName: 'ringpop', peers: []});

function call(hostPort, endpoint, body, cb) {
    client.waitForIdentified({host: hostPort}, function (err) {
        if (err) { return cb(err); }
        client.request({
            serviceName: 'ringpop', host: hostPort, timeout: 2000, hasNoParent: true,
            headers: {as: 'raw', cn: 'mixed-cluster'}
        }).send(endpoint, null, body ? JSON.stringify(body) : null, function (err2, res, a2, a3) {
            if (err2) { return cb(err2); }
            var parsed = null;
            try { parsed = JSON.parse(String(a3)); } catch (e) { return cb(e); }
            cb(null, parsed);
        });
    });
}

// Poll fn(done(ok)) every 200 ms until ok or ms pass.
function waitFor(ms, fn, cb) {
    var end = Date.now() + ms;
    (function again() {
        fn(function (ok) {
            if (ok) { return cb(true); }
            if (Date.now() > end) { return cb(false); }
            setTimeout(again, 200);
        });
    }());
}

function statsOf(nodes, cb) {
    var out = {}, left = nodes.length;
    nodes.forEach(function (hp) {
        call(hp, '/admin/stats', null, function (err, s) {
            out[hp] = err ? null : s;
            if (--left === 0) { cb(out); }
        });
    });
}

// "addr status" of every member a node sees, sorted: one string per view.
function view(stats) {
    return stats.membership.members.map(function (m) {
        return m.address + ' ' + m.status;
    }).sort().join(',');
}

function converged(nodes, expectAlive, cb) {
    statsOf(nodes, function (all) {
        var views = nodes.map(function (hp) { return all[hp] ? view(all[hp]) : null; });
        var same = views.every(function (v) { return v !== null && v === views[0]; });
        var alive = same && all[nodes[0]].membership.members.filter(function (m) {
            return m.status === 'alive' && expectAlive.indexOf(m.address) >= 0;
        }).length === expectAlive.length;
        cb(same && alive);
    });
}

function seesDead(nodes, dead, cb) {
    statsOf(nodes, function (all) {
        cb(nodes.every(function (hp) {
            var m = all[hp] && all[hp].membership.members.filter(function (x) {
                return x.address === dead;
            })[0];
            return m && m.status !== 'alive' && m.status !== 'suspect';
        }));
    });
}

function lookups(nodes, cb) {
    var differ = 0, done = 0, i = 0, inflight = 0, failed = 0;
    function next() {
        while (inflight < 64 && i < nkeys) {
            (function (key) {
                inflight++;
                var owners = [], left = nodes.length;
                nodes.forEach(function (hp) {
                    call(hp, '/admin/lookup', {key: key}, function (err, r) {
                        owners.push(err ? null : r.dest);
                        if (--left > 0) { return; }
                        if (owners.indexOf(null) >= 0) { failed++; }
                        else if (owners.some(function (o) { return o !== owners[0]; })) { differ++; }
                        inflight--;
                        if (++done === nkeys) { return cb(differ, failed); }
                        next();
                    });
                });
            }('key-' + i++));
        }
    }
    next();
}

function start(ports) {
    var hosts = ports.map(function (p) { return '127.0.0.1:' + p; });
    var hostsFile = path.join(os.tmpdir(), 'mixed-cluster-' + process.pid + '.json');
    fs.writeFileSync(hostsFile, JSON.stringify(hosts));
    var ours = hosts.slice(0, n), theirs = hosts.slice(n);
    var flags = ['--hosts=' + hostsFile, '--suspect-period=1000', '--faulty-period=60000',
                 '--tombstone-period=60000'];
    ours.forEach(function (hp) {
        procs.push({hp: hp, p: childProc.spawn(testpop, ['--listen=' + hp].concat(flags),
                                               {stdio: ['ignore', 'ignore', 'inherit']})});
    });
    theirs.forEach(function (hp) {
        procs.push({hp: hp, p: childProc.spawn(process.execPath,
            [path.join(rpnode, 'main.js'), '--listen=' + hp].concat(flags),
            {stdio: ['ignore', 'ignore', 'ignore'], env: process.env})});
    });
    var all = ours.concat(theirs);
    var t0 = Date.now();
    waitFor(30000, function (done) { converged(all, all, done); }, function (ok) {
        check(ok, 'all ' + all.length + ' nodes (' + n + ' swimring, ' + n +
              ' ringpop-node) converged to one membership in ' + (Date.now() - t0) + ' ms');
        if (!ok) { return finish(); }
        lookups(all, function (differ, failed) {
            check(differ === 0 && failed === 0, nkeys + ' keys: ' + differ +
                  ' owners differ between nodes, ' + failed + ' lookups failed');
            killAndWait(all, ours[0], 'swimring', function () {
                killAndWait(all.filter(function (h) { return h !== ours[0]; }), theirs[0],
                            'ringpop-node', finish);
            });
        });
    });
}

function killAndWait(nodes, victim, kind, cb) {
    var pr = procs.filter(function (x) { return x.hp === victim; })[0];
    pr.p.kill('SIGKILL');
    var rest = nodes.filter(function (h) { return h !== victim; });
    var t0 = Date.now();
    waitFor(20000, function (done) { seesDead(rest, victim, done); }, function (ok) {
        check(ok, 'kill -9 of a ' + kind + ' node: every other node holds it faulty after ' +
              (Date.now() - t0) + ' ms');
        cb();
    });
}

function finish() {
    procs.forEach(function (x) {
        if (x.p.exitCode === null && x.p.signalCode === null) { x.p.kill('SIGKILL'); }
    });
    channel.close();
    console.log(failures === 0 ? 'mixed-cluster: all checks passed' : 'mixed-cluster: ' + failures + ' check(s) failed');
    process.exit(failures === 0 ? 0 : 1);
}

setTimeout(function () { check(false, 'overall deadline (120 s)'); finish(); }, 120000).unref();
freePorts(2 * n, start);
