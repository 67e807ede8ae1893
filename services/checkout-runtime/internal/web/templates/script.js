(function(){"use strict";
var d=document,$=function(i){return d.getElementById(i)},on=function(e,t,f){if(e)e.addEventListener(t,f)};
// Submit a form once; then disable its buttons.
d.querySelectorAll("form").forEach(function(f){var sent=false;
on(f,"submit",function(e){if(sent){e.preventDefault();return}sent=true;
var b=e.submitter,all=f.querySelectorAll("button");if(b&&b.hidden)b=$("pay-button");if(b&&b.dataset.busy)b.textContent=b.dataset.busy;
all.forEach(function(x){x.setAttribute("aria-disabled","true")});
setTimeout(function(){all.forEach(function(x){x.disabled=true})},0)})});
on(window,"pageshow",function(e){if(e.persisted)location.reload()});
// Copy buttons: shown only where the clipboard can be written.
d.querySelectorAll("[data-copy]").forEach(function(b){var v=$(b.dataset.copy),l=b.textContent;if(!v||!navigator.clipboard)return;b.hidden=false;
on(b,"click",function(){navigator.clipboard.writeText(v.textContent.trim()).then(function(){b.textContent=b.dataset.done;setTimeout(function(){b.textContent=l},2e3)})})});
var err=$("errors");if(err)err.focus();
var b=$("return-form");if(b)return b.submit()
// The order summary: open beside the form on wide screens, folded on phones.
var o=$("order"),mq=matchMedia("(min-width:56rem)");function fold(){if(o)o.open=mq.matches}fold();on(mq,"change",fold);
var f=$("pay-form");if(!f)return;
var up=$("update-total"),card=$("card-fields"),pay=$("pay-button"),seq=0;
if(up)up.hidden=true;
function method(){var m=f.querySelector("input[name=method]:checked")||f.elements.method,v=m?m.value:"card";
f.querySelectorAll("[data-m]").forEach(function(e){e.hidden=e.dataset.m!=v});if(card)card.disabled=v!="card"}
method();
// Card entry: the brand as the number is typed, digits grouped as on the
// card (Amex 4-6-5), the expiry as "MM / YY". The server takes any spacing.
var num=$("card_number"),exp=$("card_exp");
on(num,"input",function(){var n=num.value.replace(/\D/g,""),k=/^4/.test(n)?"visa":/^(5[1-5]|2[2-7])/.test(n)?"mastercard":/^3[47]/.test(n)?"amex":"",
g=k=="amex"?[4,6,5]:[4,4,4,4,3],out=[],i=0,c=num.value.slice(0,num.selectionStart).replace(/\D/g,"").length,v;
g.forEach(function(l){if(i<n.length)out.push(n.substr(i,l));i+=l});$("card-brand").dataset.brand=k;num.value=v=out.join(" ");
for(i=0;c>0&&i<v.length;i++)if(v[i]!=" ")c--;num.setSelectionRange(i,i)});
on(exp,"input",function(e){var n=exp.value.replace(/\D/g,"").slice(0,4);if(/^[2-9]$/.test(n))n="0"+n;
exp.value=n.length>2||n.length==2&&e.inputType!="deleteContentBackward"?n.slice(0,2)+" / "+n.slice(2):n});
function set(i,v){var e=$(i);if(e)e.textContent=v||""}
function row(i,v){var e=$(i);if(e)e.hidden=!v}
function quote(){var u=f.dataset.quote;if(!u||!window.fetch)return;
var n=++seq;
fetch(u+"?country="+encodeURIComponent(f.elements.country.value)+"&region="+encodeURIComponent(f.elements.region.value),
{headers:{Accept:"application/json"}}).then(function(r){if(!r.ok)throw r.status;return r.json()}).then(function(t){if(n!==seq)return;
set("subtotal",t.subtotal);set("tax",t.tax);row("tax-row",t.tax);
var l=$("tax-label");if(l)l.textContent=t.tax_label||l.dataset.default;
set("included-tax",t.included_tax);row("included-row",t.included_tax);set("total",t.total);set("big-total",t.total);
for(var k in t.plans)set("plan-"+k,t.plans[k]);
if(pay&&t.total)pay.textContent=pay.dataset.label.replace("%s",t.total)}).catch(function(){if(up)up.hidden=false})}
on(f,"change",function(e){var n=e.target.name;if(n==="method")method();if(n==="country"||n==="region")quote()})
})();
